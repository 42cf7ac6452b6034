"""Real breast-cancer measurements with a planted salient factor: small data, a salient
structure of one dimension, and a common code that naturally carries part of it.

The rows are the 569 fine-needle aspirates of the Wisconsin Diagnostic Breast Cancer table
(Street, Wolberg & Mangasarian, *Proc. SPIE* 1905, 1993; shipped with scikit-learn as
``load_breast_cancer``): 30 features of the cell nuclei in an image (mean, standard error
and worst value of radius, texture, perimeter, area, smoothness, ...), and the diagnosis,
malignant or benign. The aspirates are split at random into a background and a target
group, each holding both diagnoses in the table's proportions, so the diagnosis is a common
factor. In half of the targets (the salient factor ``enlarged``) every nucleus is enlarged
by a factor ``gain``: the nine size features are multiplied by ``gain`` (radius and
perimeter, their standard errors and worst values) or by ``gain ** 2`` (the three area
features). Size is also the strongest sign of malignancy, so a code that describes the
diagnosis carries part of the enlargement, while the shape features (concavity,
compactness, ...) that tell a truly large nucleus from an enlarged one stay as measured.
The answer is known by construction.
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer

from sepclr.data.ca_dataset import CADataset, check_split, stratified_groups
from sepclr.errors import InvalidInputError
from sepclr.registry import DatasetInfo, register_dataset

DIAGNOSES = ("malignant", "benign")  # scikit-learn's class order
_SPLIT_SHARES = {"train": 0.5, "validation": 0.2, "test": 0.3}


def _size_gains(feature_names: list[str], gain: float) -> np.ndarray:
    """Per-feature multipliers of an enlargement by ``gain``: ``gain`` for radius and
    perimeter features, ``gain ** 2`` for area features, 1 elsewhere."""
    gains = np.ones(len(feature_names))
    for k, name in enumerate(feature_names):
        if "area" in name:
            gains[k] = gain**2
        elif "radius" in name or "perimeter" in name:
            gains[k] = gain
    return gains


def breast_cancer_enlarged(
    split: str = "train", root: str | Path | None = None, gain: float = 1.3
) -> CADataset:
    """Breast-cancer nuclei (background) against the same kind of aspirates of which half
    have enlarged nuclei (target).

    About 142 background and 142 target rows in the train split (50 %), 57 + 57 in the
    validation split (20 %) and 85 + 86 in the test split (30 %). Factors over target rows:
    ``enlarged`` (salient, 0 or 1) and ``diagnosis`` (common, 0 malignant, 1 benign; over
    background rows too). The features keep the table's names (``mean radius``, ...); the
    salient mask marks the nine size features of the enlarged targets.

    Parameters
    ----------
    gain : float
        How much the enlarged nuclei are enlarged (linear size); above 1.

    Returns
    -------
    CADataset
        The split's background and target samples and their factors.
    """
    del root
    check_split(split, tuple(_SPLIT_SHARES))
    if isinstance(gain, bool) or not isinstance(gain, int | float) or not gain > 1:
        raise InvalidInputError(f"gain must be a number above 1, got {gain!r}")
    table = load_breast_cancer()
    x = np.asarray(table.data, dtype=np.float64)
    diagnosis = np.asarray(table.target, dtype=np.int64)
    group, split_of = stratified_groups(diagnosis, tuple(_SPLIT_SHARES.values()))
    targets = np.flatnonzero(group == 1)
    enlarged = np.zeros(len(x), dtype=np.int64)
    enlarged[np.random.default_rng(1).permutation(targets)[: len(targets) // 2]] = 1
    gains = _size_gains(list(table.feature_names), gain)
    x = np.where(enlarged[:, None] == 1, x * gains, x)
    rows = split_of == tuple(_SPLIT_SHARES).index(split)
    bg, tg = rows & (group == 0), rows & (group == 1)
    return CADataset(
        name="breast-cancer-enlarged",
        split=split,
        background=x[bg].astype(np.float32),
        target=x[tg].astype(np.float32),
        factors={"enlarged": enlarged[tg], "diagnosis": diagnosis[tg]},
        roles={"enlarged": "salient", "diagnosis": "common"},
        background_factors={"diagnosis": diagnosis[bg]},
        label_names={"diagnosis": list(DIAGNOSES), "enlarged": ["no", "yes"]},
        feature_names=[str(name) for name in table.feature_names],
        salient_mask=(enlarged[tg, None] == 1) & (gains != 1.0),
    )


register_dataset(
    DatasetInfo(
        "breast-cancer-enlarged",
        breast_cancer_enlarged,
        "breast-cancer nuclei, half the targets enlarged (salient); the diagnosis is common",
        "generated from scikit-learn's copy of the Wisconsin table, nothing to download",
    )
)
