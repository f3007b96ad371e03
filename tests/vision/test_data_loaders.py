"""Real-data loaders: Fashion-MNIST idx files (written here, and Debian's when installed) and ImageNet-style
folders of JPEGs (written here) joined to a BREEDS-format hierarchy."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from tony.core.errors import DataError, TonyError
from tony.vision.breeds.files import read_breeds, write_breeds
from tony.vision.data.fashion_mnist import CLASSES, DEBIAN_DIR, fashion_hierarchy, load_fashion_mnist, read_idx
from tony.vision.data.folder import load_image_folder
from tony.vision.hierarchy import Hierarchy

BREEDS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "breeds-hierarchy"


def _idx(array: np.ndarray) -> bytes:
    magic = 0x0800 | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_fashion(folder: Path, n: int = 20, compress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    for prefix in ("train", "t10k"):
        for kind, array in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
            path = folder / f"{prefix}-{kind}{'.gz' if compress else ''}"
            path.write_bytes(gzip.compress(_idx(array)) if compress else _idx(array))
    return images, labels


@pytest.mark.parametrize("compress", [True, False])
def test_fashion_idx_files_round_trip(tmp_path, compress):
    images, labels = _write_fashion(tmp_path, compress=compress)
    data = load_fashion_mnist(tmp_path, split="test")
    assert data.images.shape == (20, 1, 28, 28) and data.images.dtype == torch.uint8
    assert np.array_equal(data.images[:, 0].numpy(), images)
    assert data.labels.tolist() == labels.tolist()
    assert data.classes == CLASSES
    assert len(load_fashion_mnist(tmp_path, split="all")) == 40


def test_fashion_hierarchy_groups_by_body_region():
    h = fashion_hierarchy()
    assert h.root == "garment" and sorted(h.nodes_at_level(1)) == ["bags", "footwear", "tops", "trousers-and-dresses"]
    assert h.leaf_descendants("tops") == ["coat", "pullover", "shirt", "t-shirt"]
    assert h.leaf_descendants("footwear") == ["ankle-boot", "sandal", "sneaker"]
    assert h.name("t-shirt") == "T-shirt/top" and sorted(CLASSES) == h.leaves


def test_missing_truncated_and_foreign_idx_files_are_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="dataset-fashion-mnist") as err:
        load_fashion_mnist(tmp_path / "nowhere")
    assert err.value.exit_code == 2 and "\n" not in str(err.value)
    with pytest.raises(DataError, match="not found"):
        load_fashion_mnist(tmp_path)  # the folder exists, the files do not
    _write_fashion(tmp_path, compress=False)
    labels = tmp_path / "train-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-3])
    with pytest.raises(DataError, match="truncated"):
        load_fashion_mnist(tmp_path)
    images = tmp_path / "t10k-images-idx3-ubyte"
    images.write_bytes(b"\x00\x00\x08\x01" + images.read_bytes()[4:])
    with pytest.raises(DataError, match="bad header"):
        read_idx(images, 2051)
    with pytest.raises(TonyError, match="split"):
        load_fashion_mnist(tmp_path, split="validation")


@pytest.mark.skipif(not DEBIAN_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed "
                                                     "(apt-get install dataset-fashion-mnist)")
def test_debian_fashion_mnist_matches_the_published_dataset():
    """Published facts: 60,000 training and 10,000 test images, exactly 6,000 and 1,000 per class, and the
    training pixels' mean of 0.2860 that every Fashion-MNIST normalisation uses."""
    train, test = load_fashion_mnist(split="train"), load_fashion_mnist(split="test")
    assert train.images.shape == (60_000, 1, 28, 28) and test.images.shape == (10_000, 1, 28, 28)
    assert train.class_counts().tolist() == [6000] * 10 and test.class_counts().tolist() == [1000] * 10
    assert train.images.float().mean().item() / 255 == pytest.approx(0.2860, abs=5e-4)
    # Trousers are two legs with a gap between them (row 18: dark column 14 between bright 11 and 16); a
    # T-shirt's body is solid there. A loader that mixed up labels or transposed images would fail this.
    trousers = train.images[train.labels == CLASSES.index("trouser")].float().mean(dim=0)[0, 18]
    tops = train.images[train.labels == CLASSES.index("t-shirt")].float().mean(dim=0)[0, 18]
    assert trousers[14] < 0.2 * min(trousers[11], trousers[16]) and tops[14] > 0.8 * tops[11]


HIERARCHY = Hierarchy([("n0", "n1"), ("n0", "n2"), ("n1", "n11"), ("n1", "n12"), ("n2", "n21"), ("n2", "n22")],
                      {"n0": "entity", "n1": "warm", "n2": "cool", "n11": "red thing", "n12": "orange thing",
                       "n21": "blue thing", "n22": "green thing"})
COLOURS = {"n11": (220, 30, 30), "n12": (240, 150, 20), "n21": (30, 40, 220)}


def _write_folder(root: Path, per_class: int = 3) -> Path:
    """JPEGs of several sizes and aspect ratios, each class a noisy solid colour, one folder per wnid."""
    from PIL import Image

    rng = np.random.default_rng(1)
    for wnid, colour in COLOURS.items():
        (root / wnid).mkdir(parents=True)
        for k in range(per_class):
            height, width = [(40, 60), (64, 48), (33, 33)][k % 3]
            pixels = np.clip(np.array(colour) + rng.normal(0, 10, (height, width, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / wnid / f"{wnid}_{k}.JPEG", quality=90)
    (root / "n11" / "notes.txt").write_text("not an image")
    return root


def test_image_folder_joined_to_a_breeds_format_hierarchy(tmp_path):
    breeds = read_breeds(write_breeds(tmp_path / "breeds", HIERARCHY)).hierarchy
    data = load_image_folder(_write_folder(tmp_path / "images"), breeds, size=16, progress=False)
    assert data.images.shape == (9, 3, 16, 16) and data.images.dtype == torch.uint8
    assert data.classes == ("n11", "n12", "n21") and data.class_counts().tolist() == [3, 3, 3]
    means = data.images.float().mean(dim=(2, 3))
    for label, wnid in enumerate(data.classes):
        assert torch.allclose(means[data.labels == label], torch.tensor(COLOURS[wnid]).float(), atol=8)
    h = data.hierarchy  # cut to the folder's classes: n22 has no folder, so it is gone
    assert h.leaves == ["n11", "n12", "n21"] and "n22" not in h and h.name("n1") == "warm"
    assert data.attributes["file"][0].endswith("n11_0.JPEG")
    warm = data.relabel({"n1": ["n11", "n12"]})
    assert warm.classes == ("n1",) and len(warm) == 6


@pytest.mark.skipif(not BREEDS_DIR.is_dir(), reason="../shared/data/breeds-hierarchy is absent")
def test_image_folder_with_real_imagenet_wnids(tmp_path):
    from PIL import Image

    hierarchy = read_breeds(BREEDS_DIR).hierarchy
    for wnid in ("n01440764", "n01443537"):  # tench, goldfish
        (tmp_path / wnid).mkdir()
        Image.new("RGB", (50, 40), (0, 120, 200)).save(tmp_path / wnid / "a.JPEG")
    data = load_image_folder(tmp_path, hierarchy, size=8, progress=False)
    assert data.class_names == ["tench, Tinca tinca", "goldfish, Carassius auratus"]
    assert data.hierarchy.root == hierarchy.root
    assert set(data.hierarchy.ancestors("n01440764")) <= set(hierarchy.ancestors("n01440764"))


def test_empty_class_folder_is_a_one_line_error(tmp_path):
    root = _write_folder(tmp_path)
    (root / "n22").mkdir()
    with pytest.raises(DataError, match="n22.*is empty") as err:
        load_image_folder(root, HIERARCHY, progress=False)
    assert err.value.exit_code == 2 and "\n" not in str(err.value)


def test_unknown_wnid_folder_is_a_one_line_error(tmp_path):
    root = _write_folder(tmp_path)
    (root / "n99").mkdir()
    with pytest.raises(DataError, match="'n99'.*not a node") as err:
        load_image_folder(root, HIERARCHY, progress=False)
    assert "\n" not in str(err.value)


def test_missing_folders_and_unreadable_images(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "nowhere", HIERARCHY)
    with pytest.raises(DataError, match="no class sub-folders"):
        load_image_folder(tmp_path, HIERARCHY)
    root = _write_folder(tmp_path / "images")
    (root / "n21" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="cannot read image"):
        load_image_folder(root, HIERARCHY, progress=False)
    with pytest.raises(DataError, match="no folder"):
        load_image_folder(root, HIERARCHY, classes=["n22"], progress=False)
