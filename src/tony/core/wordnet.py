"""Princeton WordNet 3.0 through nltk's reader, from Debian's `wordnet-base` files.

Shared by the synonym perturbation (tony.lm) and the WordNet class hierarchies (tony.vision.breeds).

Debian installs the database files in /usr/share/wordnet ($TONY_WORDNET_DIR overrides it) but not
`lexnames`, which nltk's reader needs, and nltk refuses files reached through symbolic links. So the
files are copied on first use into an nltk data folder, ``nltk_data/corpora/wordnet`` in tony's cache
folder (`tony.core.files.cache_dir`: $TONY_CACHE_DIR, ``~/.cache/tony`` by default), beside a
generated `lexnames`, and that folder is added to ``nltk.data.path`` (nltk opens files only below its
data paths). A stamp of the source files' sizes and times makes a changed installation rebuild the copy.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from tony.core.errors import DataError
from tony.core.files import cache_dir

if TYPE_CHECKING:
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

INSTALL_HINT = "install Debian's wordnet-base: sudo apt-get install wordnet-base"

DATABASE_FILES = tuple(
    [f"{kind}.{pos}" for kind in ("data", "index") for pos in ("noun", "verb", "adj", "adv")]
    + [f"{pos}.exc" for pos in ("noun", "verb", "adj", "adv")]
    + ["cntlist.rev"]
)
"""What the reader opens; `lexnames` is written, not copied. (`index.sense`, Debian's separate
wordnet-sense-index package, is only needed for sense-key look-ups, which tony does not make.)"""

LEXICOGRAPHER_FILES = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling",
    "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object", "noun.person",
    "noun.phenomenon", "noun.plant", "noun.possession", "noun.process", "noun.quantity", "noun.relation",
    "noun.shape", "noun.state", "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition",
    "verb.communication", "verb.competition", "verb.consumption", "verb.contact", "verb.creation",
    "verb.emotion", "verb.motion", "verb.perception", "verb.possession", "verb.social", "verb.stative",
    "verb.weather", "adj.ppl",
)  # fmt: skip
"""The 45 lexicographer files of WordNet 3.0 in file-number order (00..44), as lexnames(5WN) lists them."""

SYNTACTIC_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
"""lexnames(5WN)'s third column: the syntactic category of a file, from its name's prefix."""


def lexnames_text() -> str:
    """The `lexnames` file: "NN<TAB>name<TAB>category" per line."""
    return "".join(
        f"{number:02d}\t{name}\t{SYNTACTIC_CATEGORY[name.split('.')[0]]}\n"
        for number, name in enumerate(LEXICOGRAPHER_FILES)
    )


def source_dir() -> Path:
    """Where the WordNet database files are: $TONY_WORDNET_DIR, else Debian's /usr/share/wordnet."""
    return Path(os.environ.get("TONY_WORDNET_DIR") or "/usr/share/wordnet")


def nltk_data_dir() -> Path:
    """The nltk data folder tony prepares (its `corpora/wordnet` holds the copy)."""
    return cache_dir() / "nltk_data"


def _stamp(source: Path) -> dict[str, object]:
    missing = [name for name in DATABASE_FILES if not (source / name).is_file()]
    if missing:
        raise DataError(f"WordNet files missing in {source} ({', '.join(missing[:3])}...): {INSTALL_HINT}")
    stats = {name: (source / name).stat() for name in DATABASE_FILES}
    return {"source": str(source), "files": {n: [s.st_size, int(s.st_mtime)] for n, s in stats.items()}}


def prepare(source: Path | None = None, data_dir: Path | None = None) -> Path:
    """The nltk `corpora/wordnet` folder, built from `source` unless an up-to-date copy is there."""
    source = source or source_dir()
    target = (data_dir or nltk_data_dir()) / "corpora" / "wordnet"
    stamp = _stamp(source)
    stamp_file = target / "tony-source.json"
    if stamp_file.is_file() and json.loads(stamp_file.read_text()) == stamp:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=target.parent))
    try:
        for name in DATABASE_FILES:
            shutil.copyfile(source / name, building / name)
        (building / "lexnames").write_text(lexnames_text())
        (building / "tony-source.json").write_text(json.dumps(stamp))
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            building.rename(target)
        except OSError:  # another process finished first; its copy is as good
            if not stamp_file.is_file():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


@cache
def load() -> WordNetCorpusReader:
    """nltk's WordNet reader over the prepared copy (English only; loads in a few seconds, once)."""
    try:
        import nltk.data
        from nltk.corpus.reader.wordnet import WordNetCorpusReader
    except ImportError:
        raise DataError("WordNet needs nltk: pip install 'tony[lm]' or 'tony[vision]'") from None

    class EnglishWordNet(WordNetCorpusReader):
        def map_wn(self, version: str = "wordnet") -> None:
            """No mapping to another WordNet version: it is only for multilingual data (and needs
            `index.sense`, which wordnet-base lacks)."""
            return None

    root = prepare()
    data_dir = str(root.parent.parent)
    if data_dir not in nltk.data.path:  # nltk reads only below its data paths
        nltk.data.path.append(data_dir)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The multilingual functions are not available")
        return EnglishWordNet(str(root), None)


def available() -> bool:
    """Whether the WordNet files and nltk are installed (for skipping tests, not for run time)."""
    try:
        import nltk  # noqa: F401
    except ImportError:
        return False
    return all((source_dir() / name).is_file() for name in DATABASE_FILES)
