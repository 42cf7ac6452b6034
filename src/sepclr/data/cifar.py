"""CIFAR-10 in its original "python version" format (Krizhevsky, 2009): five training batches
``data_batch_1`` ... ``data_batch_5`` and ``test_batch`` in ``cifar-10-batches-py``, each a
pickled dict with ``data`` (10,000 x 3,072 uint8, the red, green and blue planes of 32x32
images in turn) and ``labels`` (10,000 ints).

The batches are pickles, and unpickling can run arbitrary code. They are read with a
restricted unpickler that admits only what those files hold (dicts, lists, bytes, ints and
numpy arrays rebuilt by numpy's own reconstructor, plus ``codecs.encode``, with which Python 3
writes bytes at protocol 2); any other global is refused before anything is called.
"""

import codecs
import importlib
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from sepclr.data.locations import find_files
from sepclr.data.resources import RemoteFile, Resource
from sepclr.errors import CorruptFileError

CIFAR_HOW_TO_GET = (
    "Get CIFAR-10: `sepclr download cifar-10` (cifar-10-python.tar.gz from the canonical "
    "address, checksummed, extracted), or extract that archive into $SEPCLR_DATA or "
    "~/.cache/sepclr (the folder cifar-10-batches-py), or pass root=/--data-dir."
)
FOLDER = "cifar-10-batches-py"
CIFAR_10 = Resource(
    "cifar-10",
    "",
    (
        RemoteFile(
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            "c58f30108f718f92721af3b95e74349a",
            unpack=True,
        ),
    ),
)
BATCHES = {"train": [f"data_batch_{k}" for k in range(1, 6)], "test": ["test_batch"]}
CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

_ALLOWED = {
    ("_codecs", "encode"),  # how Python 3 writes bytes in a protocol-2 pickle
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed here")
        if module == "_codecs":
            return codecs.encode
        if name == "_reconstruct":
            for candidate in ("numpy._core.multiarray", "numpy.core.multiarray"):
                try:
                    return importlib.import_module(candidate)._reconstruct
                except ImportError:
                    continue
        return getattr(np, name)


def read_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch file: uint8 images (n, 3, 32, 32) and int64 labels (n,)."""
    path = Path(path)
    try:
        content = _BatchUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise CorruptFileError(f"{path} is not a CIFAR-10 batch: {exc}") from exc
    if not isinstance(content, dict):
        raise CorruptFileError(f"{path} is not a CIFAR-10 batch: it holds {type(content).__name__}")
    data = content.get(b"data", content.get("data"))
    labels = content.get(b"labels", content.get("labels"))
    if not isinstance(data, np.ndarray) or labels is None:
        raise CorruptFileError(f"{path} is not a CIFAR-10 batch: no 'data' array or 'labels'")
    labels = np.asarray(labels, dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise CorruptFileError(
            f"{path}: 'data' is {data.dtype} {data.shape}, expected uint8 (n, 3072)"
        )
    if len(labels) != len(data) or labels.ndim != 1 or not ((labels >= 0) & (labels < 10)).all():
        raise CorruptFileError(f"{path}: 'labels' must be {len(data)} classes in 0..9")
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar10(split: str, root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 ``split`` ("train": 50,000, "test": 10,000): uint8 images (n, 3, 32, 32) and
    int64 class labels (n,), in file order.
    """
    names = [(name,) for name in BATCHES[split]]
    paths = find_files(FOLDER, names, root, CIFAR_HOW_TO_GET)
    parts = [read_batch(path) for path in paths]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
