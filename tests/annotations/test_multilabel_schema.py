"""The documented file formats: what loads, and every bad line a DataError naming its file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from multilabel_helpers import NUM_CLASSES, simulate, write_folder

from tony.annotations.multilabel.predictions import read_predictions, write_predictions
from tony.annotations.multilabel.schema import load_dataset
from tony.core.errors import DataError

GOOD = {"image": "a.JPEG", "imagenet_label": 3, "num_workers": 2, "selected": [[3, 5], [3]], "main": [3, 3]}


def folder_with(tmp_path: Path, *rows: dict | str) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
    (folder / "classify_task.jsonl").write_text(text)
    (folder / "classes.json").write_text(json.dumps({str(i): {"name": f"c{i}"} for i in range(10)}))
    return folder


def test_a_folder_loads_with_its_categories_classes_and_superclasses(tmp_path: Path):
    _, rows = simulate(seed=1, images=5)
    data = load_dataset(write_folder(tmp_path / "d", rows, others={"e.JPEG": "easy", "m.JPEG": "mis"},
                                     superclasses={"a": [1, 2], "b": [2, 3]}))
    assert [i.image for i in data.images] == [r["image"] for r in rows]
    assert data.images[0].selected == tuple(tuple(s) for s in rows[0]["selected"])
    assert data.images[0].annotators == 9 and data.num_classes == NUM_CLASSES
    assert data.categories["e.JPEG"] == "easy" and data.categories[rows[0]["image"]] == "fu"
    assert data.superclass_of() == {1: "a", 2: "a", 3: "b"}  # the first group that holds a class


def test_without_optional_files_every_annotated_image_is_follow_up(tmp_path: Path):
    folder = folder_with(tmp_path, GOOD)
    (folder / "classes.json").unlink()
    data = load_dataset(folder)
    assert data.categories == {"a.JPEG": "fu"} and data.num_classes == 1000 and data.superclasses == {}


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", r"classify_task.jsonl:2: not in the schema: not valid JSON"),
    ("[1, 2]", r"classify_task.jsonl:2: not in the schema: each line must be one JSON object"),
    ({**GOOD, "image": "b"} | {"main": None}, r":2: not in the schema: 'num_workers' must be an integer"),
    ({k: v for k, v in GOOD.items() if k != "main"}, r":2: not in the schema: missing field\(s\) main"),
    ({**GOOD, "image": "b", "num_workers": 3}, r":2: not in the schema: num_workers=3 but 2 selections"),
    ({**GOOD, "image": "b", "selected": [[3], []]}, r":2: not in the schema: annotator 1 selected no labels"),
    ({**GOOD, "image": "b", "imagenet_label": 10}, r":2: label 10 in 'imagenet_label' is out of range: class "
                                                   r"indices run from 0 to 9"),
    ({**GOOD, "image": "b", "selected": [[3, -1], [3]]}, r":2: label -1 in 'selected' is out of range"),
    ({**GOOD, "image": "b", "main": [3, 12]}, r":2: label 12 in 'main' is out of range"),
    ({**GOOD, "image": "b", "selected": [[3, "5"], [3]]}, r":2: not in the schema: 'selected' holds '5'"),
    ({**GOOD, "image": "b", "selected": [[3, [5]], [3]]}, r":2: not in the schema: 'selected' holds \[5\]"),
    ({**GOOD, "image": "b", "main": [3, True]}, r":2: not in the schema: 'main' holds True"),
    ({**GOOD, "image": "b", "num_workers": 0, "selected": [], "main": []}, r":2: image 'b' has no annotators"),
    ({**GOOD, "image": "b", "main": [5, 3], "selected": [[3], [3]]}, r":2: annotator 0's main label 5 is not"),
    ({**GOOD, "image": "b", "selected": [[3, 3], [3]]}, r":2: annotator 0 selected a label twice"),
    (GOOD, r":2: image 'a.JPEG' appears twice"),
])
def test_bad_annotation_lines_name_the_file_and_line(tmp_path: Path, line, message):
    with pytest.raises(DataError, match=message) as caught:
        load_dataset(folder_with(tmp_path, GOOD, line))
    assert str(tmp_path / "data" / "classify_task.jsonl") in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_categories_and_missing_files(tmp_path: Path):
    with pytest.raises(DataError, match="multi-label data folder not found"):
        load_dataset(tmp_path / "nowhere")
    folder = folder_with(tmp_path, GOOD)
    (folder / "image_categories.csv").write_text("image,annotation\na.JPEG,fu\nb.JPEG,maybe\n")
    with pytest.raises(DataError, match=r"image_categories.csv:3: not in the schema: expected 'image,outcome'"):
        load_dataset(folder)
    (folder / "image_categories.csv").write_text("image,annotation\na.JPEG,easy\n")
    with pytest.raises(DataError, match=r"image_categories.csv:2: image 'a.JPEG' is 'easy' but is in"):
        load_dataset(folder)
    (folder / "image_categories.csv").write_text("image,annotation\nb.JPEG,easy\n")
    with pytest.raises(DataError, match=r"1 annotated image\(s\) have no row, e.g. 'a.JPEG'"):
        load_dataset(folder)
    (folder / "image_categories.csv").unlink()
    (folder / "superclasses.json").write_text(json.dumps({"big": [1, 99]}))
    with pytest.raises(DataError, match=r"superclasses.json: label 99 in 'big' is out of range"):
        load_dataset(folder)


def test_predictions_round_trip_and_bad_lines(tmp_path: Path):
    known = {"a.JPEG": 3, "e.JPEG": None}
    path = write_predictions(tmp_path / "p.jsonl", [("a.JPEG", [3, 1, 2, 4, 5], None), ("e.JPEG", [0, 1, 2, 3, 4], 7)])
    got = read_predictions(path, known, 10)
    assert got["a.JPEG"].top5 == (3, 1, 2, 4, 5) and got["a.JPEG"].label == 3 and got["e.JPEG"].label == 7
    bad = [('{"image": "zz", "top5": [1, 2, 3, 4, 5]}', r"p.jsonl:1: image 'zz' is not in the data set"),
           ('{"image": "a.JPEG", "top5": [1, 2, 3]}', r"p.jsonl:1: 'top5' must hold 5 distinct class indices"),
           ('{"image": "a.JPEG", "top5": [1, 2, 3, 4, 40]}', r"p.jsonl:1: label 40 is out of range"),
           ('{"image": "e.JPEG", "top5": [1, 2, 3, 4, 5]}', r"p.jsonl:1: image 'e.JPEG' has no per-annotator"),
           ('{"image": "a.JPEG", "top5": [1, 2, 3, 4, 5], "label": 4}', r"p.jsonl:1: 'label' 4 of image 'a.JPEG' "
                                                                         "disagrees"),
           ('{"picture": "a.JPEG"}', r"p.jsonl:1: not in the schema"),
           ("", r"holds no predictions")]
    for text, message in bad:
        path.write_text(text + "\n")
        with pytest.raises(DataError, match=message):
            read_predictions(path, known, 10)
