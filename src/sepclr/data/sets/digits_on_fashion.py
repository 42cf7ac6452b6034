"""``digits-on-fashion``: scikit-learn digits (salient) pasted on Fashion-MNIST objects
(common), the offline analogue of the paper's Digits-on-CIFAR-10 (Table 1)."""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sepclr.data.ca_dataset import CADataset, check_split
from sepclr.data.sources import (
    FASHION_MNIST,
    fashion_mnist_files,
    load_fashion_mnist,
    load_sklearn_digits,
)
from sepclr.errors import InvalidInputError
from sepclr.registry import DatasetInfo, register_dataset

DIGITS_ON_FASHION_SIZES = {
    # size: (train per group, test per group)
    "small": (5_000, 1_000),
    "default": (10_000, 1_000),
    "full": (30_000, 5_000),
}
_DIGIT_TRAIN_COUNT = 1_200
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def mnist_like_digits(images: np.ndarray) -> np.ndarray:
    """scikit-learn 8x8 digits made MNIST-like.

    They are scaled to [0, 1], bilinearly upsampled to 20x20, sharpened into strokes by
    ``1 / (1 + exp(-12 (v - 0.45)))`` and zero-padded (centred) to 28x28.
    """
    x = torch.from_numpy(np.asarray(images, dtype=np.float32) / 16.0).unsqueeze(1)
    x = F.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False)
    x = torch.sigmoid(12.0 * (x - 0.45))
    x = F.pad(x, (4, 4, 4, 4))
    return x.squeeze(1).numpy()


def _half_intensity(images: np.ndarray) -> np.ndarray:
    """uint8 images (n, H, W) as float32 (n, 1, H, W) at half their [0, 1] intensity,
    computed in place in one new array."""
    out = images[:, None].astype(np.float32)
    out /= 255.0
    out *= 0.5
    return out


def digits_on_fashion(
    split: str = "train", root: str | Path | None = None, size: str = "default"
) -> CADataset:
    """Offline analogue of the paper's Digits-on-CIFAR-10 (Table 1).

    Background: ``0.5 * fashion``. Target: ``0.5 * fashion + 0.5 * digit`` with an MNIST-like
    scikit-learn digit (:func:`mnist_like_digits`). The 1,797 digits are shuffled with seed 0;
    the first 1,200 serve the train split, the other 597 the test split. Fashion-MNIST train
    images feed the train split and test images the test split; background and target use
    disjoint Fashion images drawn without replacement (seed 0). Factors over target rows:
    ``digit`` (salient) and ``object`` (the Fashion-MNIST class, common). The salient mask
    marks each target's stroke pixels, where the digit's value is at least half its peak.

    ``split="validation"`` (for choosing settings without looking at the test split) has as
    many rows as the test split, made from Fashion-MNIST train images that the train split of
    this ``size`` does not use (seed 1) and digits of the train pool; ``size="full"`` uses
    every train image, so it has no validation split.

    Parameters
    ----------
    size : {"default", "small", "full"}
        Images per group in the train and test splits: 10,000 and 1,000 (``default``),
        5,000 and 1,000 (``small``) or 30,000 and 5,000 (``full``).

    Returns
    -------
    CADataset
        The split's background and target samples and their factors.
    """
    if size not in DIGITS_ON_FASHION_SIZES:
        sizes = sorted(DIGITS_ON_FASHION_SIZES)
        raise InvalidInputError(
            f"unknown size {size!r} for digits-on-fashion; choose one of {sizes}"
        )
    check_split(split, ("train", "validation", "test"))
    n_train, n_test = DIGITS_ON_FASHION_SIZES[size]
    fashion, objects = load_fashion_mnist("test" if split == "test" else "train", root)
    per_group = n_train if split == "train" else n_test
    needed = 2 * (n_train + n_test) if split == "validation" else 2 * per_group
    if needed > len(fashion):
        raise InvalidInputError(
            f"digits-on-fashion size {size!r} needs {needed} Fashion-MNIST images for its "
            f"{split} split; the files hold {len(fashion)}"
        )
    digit_images, digit_labels = load_sklearn_digits()
    order = np.random.default_rng(0).permutation(len(digit_images))
    pool = order[_DIGIT_TRAIN_COUNT:] if split == "test" else order[:_DIGIT_TRAIN_COUNT]

    rng = np.random.default_rng(0)
    chosen = rng.choice(len(fashion), size=2 * per_group, replace=False)
    if split == "validation":
        train_rows = rng.choice(len(fashion), size=2 * n_train, replace=False)
        unused = np.setdiff1d(np.arange(len(fashion)), train_rows)
        rng = np.random.default_rng(1)
        chosen = rng.choice(unused, size=2 * per_group, replace=False)
    bg_idx, tg_idx = chosen[:per_group], chosen[per_group:]
    digit_idx = rng.choice(pool, size=per_group, replace=True)

    strokes = mnist_like_digits(digit_images[digit_idx])
    on_stroke = (strokes >= 0.5)[:, None]
    background = _half_intensity(fashion[bg_idx])
    target = _half_intensity(fashion[tg_idx])
    strokes *= 0.5
    target += strokes[:, None]
    return CADataset(
        name="digits-on-fashion",
        split=split,
        background=background,
        target=target,
        factors={"digit": digit_labels[digit_idx], "object": objects[tg_idx]},
        roles={"digit": "salient", "object": "common"},
        background_factors={"object": objects[bg_idx]},
        label_names={"object": list(FASHION_MNIST_CLASSES)},
        salient_mask=on_stroke,
    )


def _fashion_paths(root: str | Path | None) -> list[Path]:
    return [*fashion_mnist_files("train", root), *fashion_mnist_files("test", root)]


register_dataset(
    DatasetInfo(
        "digits-on-fashion",
        digits_on_fashion,
        "scikit-learn digits (salient) on Fashion-MNIST objects (common); offline Table 1",
        "apt-get install dataset-fashion-mnist, or put the Fashion-MNIST IDX files in "
        "$SEPCLR_DATA/fashion-mnist",
        _fashion_paths,
        downloads=(FASHION_MNIST,),
        sizes=tuple(DIGITS_ON_FASHION_SIZES),
    )
)
