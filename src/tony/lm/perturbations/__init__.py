"""Perturbations: seeded rewrites of an instance's text, for robustness and fairness stats.

One short module per perturbation, each a frozen spec subclassing `base.Perturbation`; the catalog
names them by "module:attr" so nothing here is imported until a run asks for it:

- robustness (the input only): `typos`, `lowercase`, `contraction` (also `Expansion`),
  `whitespace`, `synonym` (WordNet, through `tony.core.wordnet`);
- fairness (the input and the references alike): `gender`, `person_name`, `dialect`.

Their word lists live in `data/`, each file saying where its words come from.
"""
