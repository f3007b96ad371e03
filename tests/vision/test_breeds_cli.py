"""`tony breeds splits` through tony.cli.main: tables, JSON, and bad input (exit 2, one line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tony.cli import main
from tony.vision.breeds import published_task, read_breeds, write_breeds
from tony.vision.hierarchy import Hierarchy

BREEDS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "breeds-hierarchy"

TREE = Hierarchy([("root", "A"), ("root", "B"), ("A", "A1"), ("A", "A2"), ("B", "b1"), ("B", "b2"), ("B", "b3"),
                  ("A1", "a1"), ("A1", "a2"), ("A2", "a3"), ("A2", "a4")], {"A": "group A", "a1": "first, one"})


@pytest.fixture
def tree_dir(tmp_path):
    return write_breeds(tmp_path / "tree", TREE)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["breeds", "splits", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_level_split_as_json_and_as_a_table(capsys, tree_dir):
    code, out, _ = run(capsys, "--level", "1", "--subclasses", "2", "--split", "bad", "--hierarchy", str(tree_dir),
                       "--format", "json")
    assert code == 0
    assert json.loads(out) == {"superclasses": [
        {"wnid": "A", "name": "group A", "source": ["a1"], "target": ["a3"]},
        {"wnid": "B", "name": "B", "source": ["b1"], "target": ["b2"]}]}
    code, out, _ = run(capsys, "--level", "1", "--split", "good", "--seed", "5", "--hierarchy", str(tree_dir))
    lines = out.splitlines()
    assert code == 0 and lines[0] == "level 1: 2 superclasses x 2 subclasses (1 source + 1 target), split good, seed 5"
    assert lines[1].split() == ["0", "A", "group", "A"] and lines[2].split() == ["source:", "first", "(a1)"]


@pytest.mark.skipif(not BREEDS_DIR.is_dir(), reason=f"BREEDS hierarchy files not in {BREEDS_DIR}")
def test_a_published_benchmark(capsys):
    code, out, _ = run(capsys, "nonliving26", "--hierarchy", str(BREEDS_DIR), "--format", "json")
    assert code == 0
    assert json.loads(out) == published_task("nonliving26", read_breeds(BREEDS_DIR).hierarchy).to_json()
    code, out, _ = run(capsys, "living17", "--hierarchy", str(BREEDS_DIR))
    assert code == 0 and out.splitlines()[0].startswith("living17: 17 superclasses x 4 subclasses")
    assert "source: eft (n01631663), axolotl (n01632777)" in out


def bad(capsys, *args: str) -> str:
    code, out, err = run(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_bad_input_is_one_line_and_exit_2(capsys, tree_dir, tmp_path):
    tree = str(tree_dir)
    assert "give --hierarchy DIR" in bad(capsys, "living17")
    assert "not both" in bad(capsys, "living17", "--level", "3", "--hierarchy", tree)
    assert "not both" in bad(capsys, "--hierarchy", tree)
    assert "drop --ancestor/--subclasses" in bad(capsys, "entity30", "--subclasses", "4", "--hierarchy", tree)
    assert "no superclass at level 1 has 6 subclasses (the largest has 4)" in bad(
        capsys, "--level", "1", "--subclasses", "6", "--hierarchy", tree)
    assert "cannot be split" in bad(capsys, "--level", "1", "--subclasses", "3", "--hierarchy", tree)
    assert "levels run 0..3" in bad(capsys, "--level", "5", "--hierarchy", tree)
    assert "unknown node 'n01234567'" in bad(capsys, "--level", "1", "--ancestor", "n01234567", "--hierarchy", tree)
    assert "living17 needs node n00004258" in bad(capsys, "living17", "--hierarchy", tree)
    assert "lacks class_hierarchy.txt" in bad(capsys, "--level", "1", "--hierarchy", str(tmp_path / "none"))
    (tree_dir / "class_hierarchy.txt").write_text("root A\nA B\nB A\nB a1\n")
    assert "cycle through" in bad(capsys, "--level", "1", "--hierarchy", tree)
    assert "cannot read the wnid list" in bad(capsys, "--level", "1", "--wnids", str(tmp_path / "none.txt"))
    with pytest.raises(SystemExit) as caught:  # argparse: a split that does not exist
        main(["breeds", "splits", "--level", "1", "--split", "worst", "--hierarchy", tree])
    assert caught.value.code == 2 and "invalid choice: 'worst'" in capsys.readouterr().err
