"""Statistical bias in dataset replication (Engstrom et al., 2020), simulated and corrected.

A replicated test set matched to the original on noisy selection frequencies ends up harder than the
original, so part of a model's accuracy drop is an artefact of the matching. Modules:

- `simulate`, `matching`: a seeded simulation of the published procedure, with the true gap known;
- `betabinomial`, `spline`, `estimators`: the naive, jackknife and parametric estimates of the
  bias-corrected accuracy, with bootstrap intervals;
- `io`: the input formats (annotator counts per image, correctness per image and model);
- `study`, `api`, `cli`, `report`: a study through the kernel's runner, the store and the site.
"""
