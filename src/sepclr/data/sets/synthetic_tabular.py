"""``synthetic-tabular``: generated tables with a shared and a target-only factor."""

from pathlib import Path

import numpy as np

from sepclr.data.ca_dataset import CADataset, check_split
from sepclr.errors import InvalidInputError
from sepclr.memory import check_fits
from sepclr.registry import DatasetInfo, register_dataset


def synthetic_tabular(
    split: str = "train",
    root: str | Path | None = None,
    n: int = 1_000,
    features: int = 20,
    seed: int = 0,
    rotate: bool = True,
) -> CADataset:
    """A tabular CA problem with known ground truth, needing no files.

    Every sample has a ``shared`` class (3 values) that moves features 0-4 (class ``k`` adds 3
    to feature ``k``); targets also have a ``salient`` class (3 values) that moves features
    5-9 (class ``k`` adds 3 to feature ``5 + k``); the other features are noise. A fixed
    random rotation (seed ``seed``) then mixes all features, so no single column holds a
    factor. Without the rotation (``rotate=False``) features 5-7 alone carry the salient
    factor, which the dataset's salient mask marks. ``n`` samples per group; the validation
    and test splits use fresh samples from the same distribution.

    Parameters
    ----------
    n : int
        Samples per group.
    features : int
        Features per sample (at least 12).
    seed : int
        The seed of the rotation and of the samples.
    rotate : bool
        Mix the features by the random rotation.

    Returns
    -------
    CADataset
        The split's background and target samples and their factors.
    """
    del root
    check_split(split, ("train", "validation", "test"))
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise InvalidInputError(f"synthetic-tabular needs n >= 2 samples per group, got {n!r}")
    if isinstance(features, bool) or not isinstance(features, int) or features < 12:
        raise InvalidInputError(f"synthetic-tabular needs at least 12 features, got {features!r}")
    check_fits(
        8.0 * features**2 + 2 * n * (features * 8 * 3 + 24),  # the rotation; each group's draws
        f"synthetic-tabular with n={n} and features={features}",
        "lower n or features",
    )
    if not isinstance(rotate, bool):
        raise InvalidInputError(f"rotate must be true or false, got {rotate!r}")
    mixing, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(features, features)))
    if not rotate:
        mixing = np.eye(features)
    rng = np.random.default_rng(seed + {"train": 1, "test": 2, "validation": 3}[split])
    centres = 3.0 * np.eye(3, 5)

    def draw(with_salient: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        shared = rng.integers(0, 3, n)
        salient = rng.integers(0, 3, n)
        x = rng.normal(size=(n, features))
        x[:, 0:5] += centres[shared]
        if with_salient:
            x[:, 5:10] += centres[salient]
        return (x @ mixing).astype(np.float32), shared, salient

    salient_columns = np.zeros(features, dtype=bool)
    salient_columns[5:8] = True
    background, bg_shared, _ = draw(False)
    target, tg_shared, tg_salient = draw(True)
    return CADataset(
        name="synthetic-tabular",
        split=split,
        background=background,
        target=target,
        factors={"salient": tg_salient, "shared": tg_shared},
        roles={"salient": "salient", "shared": "common"},
        background_factors={"shared": bg_shared},
        salient_mask=None if rotate else np.broadcast_to(salient_columns, target.shape).copy(),
    )


register_dataset(
    DatasetInfo(
        "synthetic-tabular",
        synthetic_tabular,
        "generated tabular data with a shared and a target-only factor",
        "generated, nothing to download",
    )
)
