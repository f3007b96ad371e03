"""Vision data: a dataset type with a class hierarchy, the generated shape world, and real-data loaders.

- `dataset`: `ImageDataset` (images, labels, classes, hierarchy, attributes, masks), subsetting and
  relabelling subclasses to superclasses (what a BREEDS split trains on).
- `world`: `ShapeWorld`, the embedded default: 40 shapes in 10 families on named textures, seeded,
  with an object mask and attributes for every image; `shapes` and `textures` hold its parts.
- `fashion_mnist`: Fashion-MNIST from Debian's idx files, with a coarse garment hierarchy.
- `folder`: an ImageNet-style folder (one folder per wnid) joined to a class hierarchy.
"""

from tony.vision.data.dataset import ImageDataset, restrict_hierarchy
from tony.vision.data.fashion_mnist import fashion_hierarchy, load_fashion_mnist
from tony.vision.data.folder import load_image_folder
from tony.vision.data.world import ShapeWorld

__all__ = ["ImageDataset", "ShapeWorld", "fashion_hierarchy", "load_fashion_mnist", "load_image_folder",
           "restrict_hierarchy"]
