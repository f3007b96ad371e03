"""Editing a classifier by rewriting its prediction rules (Santurkar et al. 2021), on models with addressable layers.

`spec` holds the study's spec, `concept` the concepts and transformations (exact on the generated world),
`rewrite` the rank-one edit, `finetune` the baselines, `evaluate` the paper's protocol and stats, `study` the
runner's task, `sweep` the vulnerability table, `cli` `tony edit` and `report` the site page.
"""
