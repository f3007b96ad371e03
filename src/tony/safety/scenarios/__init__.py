"""Safety scenarios: prompts a model should answer and prompts it should refuse, read from the data root.

One module per benchmark, each a `SafetyScenario` (generation, no references: a grader labels the completions;
an optional `system_prompt` for pre- and post-mitigation runs) with its `DATASET`; the catalog names them by
"module:attr", so nothing here is imported until a run asks for it:

- `xstest`: XSTest's 250 safe and 200 unsafe prompts (over-refusal), facets `type` and `label`;
- `strongreject`: StrongREJECT's 313 forbidden prompts, facet `category`;
- `harmbench`: HarmBench's standard and contextual behaviors (copyright ones named, not graded).
"""
