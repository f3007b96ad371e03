"""Graders: label a completion full_compliance / full_refusal / partial_refusal (the XSTest paper's labels).

- `rules` (the default): offline hand-written rules over the completion's clauses (`rules.py`);
- `xstest-strings`: the XSTest paper's string-matching baseline (`xstest_strings.py`);
- `judge`: a language model through any tony client, with a rubric and a strict parser (`judge.py`).

`grader(name, **options)` builds one; modules are imported only when a grader is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from tony.safety.graders.base import Grade, Grader, Item
from tony.safety.graders.labels import FULL_COMPLIANCE, FULL_REFUSAL, LABELS, PARTIAL_REFUSAL, UNPARSEABLE

__all__ = ["FULL_COMPLIANCE", "FULL_REFUSAL", "GRADERS", "LABELS", "PARTIAL_REFUSAL", "UNPARSEABLE", "Grade",
           "Grader", "Item", "grader"]

GRADERS = {
    "rules": "tony.safety.graders.rules:RulesGrader",
    "xstest-strings": "tony.safety.graders.xstest_strings:XSTestStringGrader",
    "judge": "tony.safety.graders.judge:JudgeGrader",
}
"""Grader name -> "module:class"."""


def grader(name: str, **options: Any) -> Grader:
    """The grader called `name`, built with `options` (the judge's model and store); an unknown name is a
    one-line UnknownComponentError listing the graders."""
    from tony.core.errors import UnknownComponentError

    if name not in GRADERS:
        raise UnknownComponentError(f"unknown grader '{name}': choose one of {', '.join(GRADERS)}")
    module, _, attr = GRADERS[name].partition(":")
    return getattr(importlib.import_module(module), attr)(**options)
