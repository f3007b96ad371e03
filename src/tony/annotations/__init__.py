"""Benchmark fidelity from annotations and predictions (no model is run).

- `tony.annotations.multilabel`: per-annotator multi-label judgments of ImageNet-style images, aggregated;
  accuracy of predictions under them.
- `tony.annotations.replication`: statistical bias in dataset replication, simulated and corrected.
"""
