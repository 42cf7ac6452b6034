"""Raw image sources in the IDX format (MNIST, Fashion-MNIST) and scikit-learn's bundled
digits."""

from pathlib import Path

import numpy as np

from sepclr.data.idx import read_idx
from sepclr.data.locations import find_files
from sepclr.data.resources import idx_resource
from sepclr.errors import CorruptFileError

# checksums as published with each dataset
MNIST = idx_resource(
    "mnist",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "d53e105ee54ea40749a09fcbcd1e9432",
        "9fb629c4189551a2d022fa330f9573f3",
        "ec29112dd5afa0611ce80d1b7f02629c",
    ),
)
FASHION_MNIST = idx_resource(
    "fashion-mnist",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "25c81989df183df01b3e8a0aad5dffbe",
        "bef4ecab320f06d8554ea6380940ec79",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
)

FASHION_HOW_TO_GET = (
    "Get Fashion-MNIST: on Debian/Ubuntu `apt-get install dataset-fashion-mnist` (files in "
    "/usr/share/datasets/fashion-mnist), or download the four *-ubyte.gz files from the "
    "Fashion-MNIST repository (zalandoresearch/fashion-mnist) into "
    "$SEPCLR_DATA/fashion-mnist or ~/.cache/sepclr/fashion-mnist, or pass root=/--data-dir."
)

MNIST_HOW_TO_GET = (
    "Get MNIST: `sepclr download mnist` (from the canonical mirror, checksummed), or put the "
    "four *-ubyte.gz files into $SEPCLR_DATA/mnist or ~/.cache/sepclr/mnist, or pass "
    "root=/--data-dir."
)

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def idx_files(
    folder: str, split: str, root: str | Path | None, how_to_get: str
) -> tuple[Path, Path]:
    """Paths of the images and labels IDX files (raw or .gz) of ``split`` ("train" or
    "test") of the dataset kept in ``folder``.
    """
    names = [(f"{n}.gz", n) for n in IDX_FILES[split]]
    images, labels = find_files(folder, names, root, how_to_get)
    return images, labels


def _load_idx_pair(
    folder: str, title: str, split: str, root: str | Path | None, how_to_get: str
) -> tuple[np.ndarray, np.ndarray]:
    images_path, labels_path = idx_files(folder, split, root, how_to_get)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise CorruptFileError(
            f"{title} {split}: images {images.shape} and labels {labels.shape} do not "
            "match (expected (n, 28, 28) and (n,))"
        )
    return images, labels.astype(np.int64)


def fashion_mnist_files(split: str, root: str | Path | None = None) -> tuple[Path, Path]:
    """Paths of the Fashion-MNIST images and labels files of ``split`` ("train" or "test")."""
    return idx_files("fashion-mnist", split, root, FASHION_HOW_TO_GET)


def load_fashion_mnist(split: str, root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST ``split``: uint8 images (n, 28, 28) and int64 class labels (n,)."""
    return _load_idx_pair("fashion-mnist", "Fashion-MNIST", split, root, FASHION_HOW_TO_GET)


def load_mnist(split: str, root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MNIST ``split``: uint8 images (n, 28, 28) and int64 digit labels (n,)."""
    return _load_idx_pair("mnist", "MNIST", split, root, MNIST_HOW_TO_GET)


def load_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits: float images (n, 8, 8) in [0, 16], labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float32), bunch.target.astype(np.int64)
