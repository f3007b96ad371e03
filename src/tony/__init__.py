"""tony: a workbench for measuring how machine-learning models really behave."""

__version__ = "0.1.0"
