"""Vision: datasets with a class hierarchy, models with addressable layers, a training loop, and the
studies built on them (BREEDS subpopulation shift first).

`hierarchy` holds the class hierarchy (a DAG whose leaves are a dataset's classes), `breeds` reads
BREEDS-format hierarchies, builds them from WordNet and makes source/target splits.
"""
