"""In-context learning of function classes (Garg et al. 2022, "What can transformers learn in-context?").

`functions` samples tasks (linear, sparse linear, two-layer ReLU networks,
decision trees, noisy linear), `prompts` samples prompts in and out of
distribution and interleaves them for the model, `baselines` holds the
estimators the transformer is compared with (least squares, averaging,
nearest neighbours, Lasso, a network fitted by gradient descent, greedy trees,
XGBoost), and `metrics` turns predictions into normalized squared error per
prompt position with bootstrap intervals.
"""
