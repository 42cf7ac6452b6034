"""Raw image sources: Fashion-MNIST (IDX files) and scikit-learn's bundled digits."""

from pathlib import Path

import numpy as np

from sepclr.data.idx import read_idx
from sepclr.data.locations import find_files
from sepclr.errors import CorruptFileError

FASHION_HOW_TO_GET = (
    "Get Fashion-MNIST: on Debian/Ubuntu `apt-get install dataset-fashion-mnist` (files in "
    "/usr/share/datasets/fashion-mnist), or download the four *-ubyte.gz files from the "
    "Fashion-MNIST repository (zalandoresearch/fashion-mnist) into "
    "$SEPCLR_DATA/fashion-mnist or ~/.cache/sepclr/fashion-mnist, or pass root=/--data-dir."
)

_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def fashion_mnist_files(split: str, root: str | Path | None = None) -> tuple[Path, Path]:
    """Paths of the Fashion-MNIST images and labels files of ``split`` ("train" or "test")."""
    names = [(f"{n}.gz", n) for n in _FASHION_FILES[split]]
    images, labels = find_files("fashion-mnist", names, root, FASHION_HOW_TO_GET)
    return images, labels


def load_fashion_mnist(split: str, root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST ``split``: uint8 images (n, 28, 28) and int64 class labels (n,)."""
    images_path, labels_path = fashion_mnist_files(split, root)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise CorruptFileError(
            f"Fashion-MNIST {split}: images {images.shape} and labels {labels.shape} do not "
            "match (expected (n, 28, 28) and (n,))"
        )
    return images, labels.astype(np.int64)


def load_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits: float images (n, 8, 8) in [0, 16], labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float32), bunch.target.astype(np.int64)
