"""Aggregating per-annotator judgments of one image: what is in it, how many objects, which is the main one.

The rules (each a plain count over annotators, so a reader can redo them by hand):

- **selection frequency** of a label: the fraction of the image's annotators who selected it;
- **valid labels**: those with selection frequency >= `min_selection` (default 0.2: two of nine
  annotators), so one annotator's stray click does not make a label valid;
- **number of objects**: the most common size of an annotator's selection (each selected label stands
  for a distinct object); a tie goes to the smaller size, so an image counts as multi-object only when
  more annotators saw several objects than any other number;
- **main label**: the label most annotators judged the main object; a tie goes to the tied label with
  the higher selection frequency, then to the smaller class index (never to the benchmark label, which
  would bias the comparison with it);
- **objects as groups of labels**: two labels stand for the same object when annotators rarely select
  them together: an annotator names each object once, so alternative names of one object (two similar
  dog breeds) are chosen by different annotators, while labels of different objects are chosen together.
  The co-selection rate of two labels is (annotators selecting both) / (annotators selecting either).
  Starting from one group per valid label, the two groups whose largest pairwise co-selection rate is
  smallest are merged, as long as that rate is below `co_selection_threshold` (default 0.5: the pair is
  chosen together by fewer than half of those who chose either) and there are more groups than objects.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import combinations

from tony.annotations.multilabel.schema import FIRST_STAGE, ImageAnnotations

MIN_SELECTION = 0.2
CO_SELECTION_THRESHOLD = 0.5


@dataclass(frozen=True)
class ImageSummary:
    """The aggregate of one image's annotations."""

    image: str
    label: int
    """The benchmark label."""
    annotators: int
    frequency: dict[int, float]
    """Label -> selection frequency, most selected first (ties: smaller index first)."""
    objects: int
    """The most common selection size."""
    main: int
    """The main label (see the tie rule)."""
    main_tied: bool
    """Whether the tie rule decided the main label."""
    valid: tuple[int, ...]
    """Labels selected by at least `min_selection` of the annotators, most selected first."""
    groups: tuple[tuple[int, ...], ...]
    """Valid labels grouped into objects by co-selection, the group of the most selected label first."""

    @property
    def main_is_label(self) -> bool:
        return self.main == self.label

    @property
    def multi_object(self) -> bool:
        return self.objects > 1


def summarize(image: ImageAnnotations, *, min_selection: float = MIN_SELECTION,
              co_selection_threshold: float = CO_SELECTION_THRESHOLD) -> ImageSummary:
    """Aggregate one image's judgments by the rules of this module."""
    n = image.annotators
    counts = Counter(label for chosen in image.selected for label in chosen)
    order = sorted(counts, key=lambda label: (-counts[label], label))
    frequency = {label: counts[label] / n for label in order}
    sizes = Counter(len(chosen) for chosen in image.selected)
    objects = min(sizes, key=lambda size: (-sizes[size], size))
    votes = Counter(image.main)
    main = min(votes, key=lambda label: (-votes[label], -counts[label], label))
    top = votes[main]
    tied = sum(1 for v in votes.values() if v == top) > 1
    # A tiny tolerance, so 2/10 >= 0.2 holds whatever the float rounding.
    valid = tuple(label for label in order if frequency[label] >= min_selection - 1e-12)
    groups = group_objects(image.selected, valid, objects, co_selection_threshold)
    return ImageSummary(image.image, image.label, n, frequency, objects, main, tied, valid, groups)


def co_selection(selected: tuple[tuple[int, ...], ...], a: int, b: int) -> float:
    """(annotators selecting both a and b) / (annotators selecting either); 0 when neither is selected."""
    masks = _annotator_masks(selected)
    return _rate(masks.get(a, 0), masks.get(b, 0))


def group_objects(selected: tuple[tuple[int, ...], ...], labels: tuple[int, ...], objects: int,
                  threshold: float = CO_SELECTION_THRESHOLD) -> tuple[tuple[int, ...], ...]:
    """Complete-linkage grouping of `labels` (most selected first) by co-selection rate (module docstring)."""
    groups: list[tuple[int, ...]] = [(label,) for label in labels]
    if len(groups) <= max(objects, 1):
        return tuple(groups)
    masks = _annotator_masks(selected)
    rate = {(a, b): _rate(masks[a], masks[b]) for a, b in combinations(labels, 2)}

    def linkage(g: tuple[int, ...], h: tuple[int, ...]) -> float:
        return max(rate[(a, b)] if (a, b) in rate else rate[(b, a)] for a in g for b in h)

    while len(groups) > max(objects, 1):
        # Among the pairs of groups, the least co-selected; ties to the earliest (most selected) pair.
        best = min(combinations(range(len(groups)), 2), key=lambda ij: (linkage(groups[ij[0]], groups[ij[1]]), ij))
        if linkage(groups[best[0]], groups[best[1]]) >= threshold:
            break
        i, j = best
        groups[i] = groups[i] + groups[j]
        del groups[j]
    return tuple(groups)


def _annotator_masks(selected: tuple[tuple[int, ...], ...]) -> dict[int, int]:
    """Label -> a bit per annotator who selected it, so co-selection counts are two bit operations."""
    masks: dict[int, int] = {}
    for annotator, chosen in enumerate(selected):
        for label in chosen:
            masks[label] = masks.get(label, 0) | (1 << annotator)
    return masks


def _rate(a: int, b: int) -> float:
    either = (a | b).bit_count()
    return (a & b).bit_count() / either if either else 0.0


@dataclass(frozen=True)
class DatasetStats:
    """What the annotations say about the data set as a whole."""

    images: int
    """Images with per-annotator judgments (the follow-up images)."""
    multi_object_images: int
    main_label_is_benchmark_label: int
    """Images whose main label is the benchmark label."""
    main_label_ties: int
    objects: dict[int, int]
    """Number of objects -> images."""
    first_stage: dict[str, int]
    """First-stage outcome -> images, over every image of the study."""
    multi_object_main_is_label: int
    """Multi-object images whose main label is the benchmark label."""


def dataset_stats(summaries: list[ImageSummary], categories: dict[str, str]) -> DatasetStats:
    """Counts over the aggregated images and the first stage."""
    stage = Counter(categories.values())
    return DatasetStats(
        images=len(summaries),
        multi_object_images=sum(s.multi_object for s in summaries),
        main_label_is_benchmark_label=sum(s.main_is_label for s in summaries),
        main_label_ties=sum(s.main_tied for s in summaries),
        objects=dict(sorted(Counter(s.objects for s in summaries).items())),
        first_stage={c: stage.get(c, 0) for c in FIRST_STAGE},
        multi_object_main_is_label=sum(s.multi_object and s.main_is_label for s in summaries),
    )
