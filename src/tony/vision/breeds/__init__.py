"""BREEDS: subpopulation-shift tasks built from a class hierarchy (Santurkar, Tsipras, Madry 2021).

`files` reads and writes the BREEDS hierarchy format, `wordnet` builds a hierarchy from WordNet for
any list of wnids, and `splits` picks superclasses at a level and splits their subclasses into
source and target ("rand", "good", "bad"), reproducing ENTITY-13, ENTITY-30, LIVING-17 and
NONLIVING-26 exactly on the BREEDS ImageNet hierarchy and working the same on any `Hierarchy`.
"""

from tony.vision.breeds.files import BreedsHierarchy, DatasetClass, read_breeds, write_breeds
from tony.vision.breeds.splits import PUBLISHED, SPLITS, Superclass, Task, make_task, published_task

__all__ = ["PUBLISHED", "SPLITS", "BreedsHierarchy", "DatasetClass", "Superclass", "Task", "make_task",
           "published_task", "read_breeds", "write_breeds"]
