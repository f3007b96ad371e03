"""Multi-label annotations of a classification benchmark (Tsipras et al. 2020, "From ImageNet to Image
Classification"): what a single benchmark label misses.

- `schema`: the documented file formats (per-annotator selections and main choices per image, the
  first-stage outcome of every image, classes, superclasses) and their loader;
- `aggregate`: per image, selection frequencies, the number of objects, the main label (with its tie
  rule) and labels grouped into objects by co-selection;
- `predictions`: the per-model predictions format (image, top-5 labels);
- `accuracy`: standard, multi-label and main-label top-1, broken down by first stage, objects and superclass;
- `study`: all of it as a run through the kernel (stats in the store), `report` its site page,
  `api` the Python entry points and `cli` `tony annotations multilabel`.

This module imports nothing, so `tony --help` stays fast; import the submodules.
"""
