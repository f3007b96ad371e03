"""BIG-bench tasks from their `task.json` files, for users who have BIG-bench's task folder (`bigbench/` under
the data root, TONY_BIGBENCH_DIR, or the PyPI package `bigbench` 1.0.0 where a registry still hands it out;
only its data is read, never its code).

Multiple choice comes from `target_scores` (score 1 marks a correct option),
generation from `target`. A task whose task.json has no examples but
sub-task folders (hhh_alignment, arithmetic, ...) yields every sub-task,
each instance tagged with its sub-task as subgroup.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from tony.core.data import data_root
from tony.core.errors import DataError, DataNotInstalledError
from tony.lm.adapters.base import PromptFormat
from tony.lm.scenarios.base import Scenario
from tony.lm.types import CORRECT_TAG, Instance, Reference

# Tasks whose multiple-choice data lives in a file other than task.json.
TASK_FILES = {"truthful_qa": "task_mc.json"}


def benchmark_tasks_dir() -> Path:
    """BIG-bench's benchmark_tasks folder: $TONY_BIGBENCH_DIR, else `bigbench/` under the data root, else the
    installed bigbench package's."""
    override = os.environ.get("TONY_BIGBENCH_DIR")
    if override:
        if not Path(override).is_dir():
            raise DataNotInstalledError(f"TONY_BIGBENCH_DIR={override} is not a folder: point it at BIG-bench's "
                                        "benchmark_tasks folder, or unset it")
        return Path(override)
    root, _ = data_root()
    if root is not None and (root / "bigbench").is_dir():
        return root / "bigbench"
    spec = importlib.util.find_spec("bigbench")
    if spec is None or not spec.submodule_search_locations:
        raise DataNotInstalledError(
            "BIG-bench task data is not here: copy BIG-bench's benchmark_tasks folder to bigbench/ under the data "
            "root (--data DIR or TONY_DATA), or set TONY_BIGBENCH_DIR to it"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "benchmark_tasks"


class BigBenchScenario(Scenario):
    """Any BIG-bench JSON task."""

    task: str
    """Task folder name, e.g. strategyqa."""
    subtask: str | None = None
    """Sub-task folder, e.g. age_ambig for bbq_lite_json; None for all of them."""

    def _task_dir(self) -> Path:
        root = benchmark_tasks_dir()
        folder = root / self.task
        if not folder.is_dir():
            known = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
            close = difflib.get_close_matches(self.task, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise DataError(f"no BIG-bench task '{self.task}' in {root}{hint}")
        if self.subtask:
            folder = folder / self.subtask
            if not folder.is_dir():
                subtasks = sorted(p.name for p in folder.parent.iterdir() if (p / "task.json").is_file())
                raise DataError(f"BIG-bench task '{self.task}' has no subtask '{self.subtask}'; it has {subtasks}")
        return folder

    def _task_json(self) -> dict[str, Any]:
        folder = self._task_dir()
        return read_task_json(folder / TASK_FILES.get(self.task, "task.json"))

    def instances(self) -> list[Instance]:
        task = self._task_json()
        if task.get("examples"):
            return _instances(task["examples"], self.subtask or self.task, self.subtask or "")
        folder = self._task_dir()
        found: list[Instance] = []
        for sub in sorted(p for p in folder.iterdir() if (p / "task.json").is_file()):
            found += _instances(read_task_json(sub / "task.json").get("examples", []), sub.name, sub.name)
        if not found:
            raise DataError(f"BIG-bench task '{self.task}' at {folder} has no examples")
        return found

    def default_method(self) -> str:
        first = self.cached_instances()[0]
        return "multiple_choice_separate" if len(first.references) > 1 else "generation"

    def prompt_format(self) -> PromptFormat:
        task = self._task_json()
        return PromptFormat(
            instructions=task.get("task_prefix", ""),
            input_prefix=task.get("example_input_prefix", "\nQ: ").lstrip("\n"),
            output_prefix=task.get("example_output_prefix", "\nA: ").rstrip(" "),
            example_separator=task.get("few_shot_example_separator", "\n\n"),
        )


def read_task_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"BIG-bench file not found: {path}") from None
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 (byte {err.start}); re-save it as UTF-8") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{path} is not valid JSON (line {err.lineno}: {err.msg})") from None


def _instances(examples: list[dict[str, Any]], prefix: str, subgroup: str) -> list[Instance]:
    out = []
    for index, example in enumerate(examples):
        if "target_scores" in example:
            references = tuple(
                Reference(option, (CORRECT_TAG,) if score == max(example["target_scores"].values()) and score > 0
                          else ())
                for option, score in example["target_scores"].items()
            )
        else:
            targets = example.get("target", [])
            targets = [targets] if isinstance(targets, str) else targets
            references = tuple(Reference(t, (CORRECT_TAG,)) for t in targets)
        extra = {"comment": example["comment"]} if "comment" in example else {}
        out.append(Instance(f"{prefix}-{index}", example["input"], references, subgroup=subgroup, extra=extra))
    return out
