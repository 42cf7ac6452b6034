"""A synthetic 3-D brain benchmark with known ground truth, generated on the fly: the
neuroimaging setting of the paper's Table 3 (patients against healthy controls on T1 MRI)
at a size this project's CPUs can train on.

Every volume (1 x S x S x S, values in [0, 1]) is a bright ellipsoid "brain" with dark
central "ventricles", built from four factors:

- ``age`` (20-80 years, common): the brain shrinks (radii down by up to 15 %) and the
  ventricles widen (radius 0.12 to 0.27 of the half-width) with age;
- ``sex`` (0/1, common): a shape term, the brain 8 % longer along the first axis for 1;
- ``site`` (0, 1, 2, common): a scanner effect, an intensity gain (0.85, 1.0, 1.15), a
  linear bias field along the last axis (-0.08, 0, +0.08 across the volume) and a noise
  level (0.02, 0.03, 0.04);
- ``score`` (0-1, salient, targets only; a "clinical score"): a localized hypo-intensity,
  a Gaussian blob (sigma 0.12 of the half-width) off the centre whose depth is
  ``0.45 * score``. Background volumes never have it.

Backgrounds and targets draw age, sex and site from the same distributions, so only the
blob tells the groups apart.
"""

from pathlib import Path

import numpy as np

from sepclr.data.ca_dataset import CADataset, ProbeProtocol, check_split
from sepclr.errors import InvalidInputError
from sepclr.memory import check_fits
from sepclr.registry import DatasetInfo, register_dataset

SYNTHETIC_BRAIN_SIZES = {"small": (300, 150), "default": (600, 300)}  # per group: train, test
_SITE_GAIN = (0.85, 1.0, 1.15)
_SITE_BIAS = (-0.08, 0.0, 0.08)
_SITE_NOISE = (0.02, 0.03, 0.04)
BLOB_CENTRE = (0.35, 0.2, 0.1)
BLOB_SIGMA = 0.12
BLOB_DEPTH = 0.45


def _grid(side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    axis = np.linspace(-1.0, 1.0, side, dtype=np.float32)
    return np.meshgrid(axis, axis, axis, indexing="ij")


def brain_volumes(
    age: np.ndarray,
    sex: np.ndarray,
    site: np.ndarray,
    score: np.ndarray,
    side: int = 32,
    seed: int = 0,
) -> np.ndarray:
    """Volumes for the given factors."""
    x, y, z = _grid(side)
    rng = np.random.default_rng(seed)
    blob = np.exp(
        -((x - BLOB_CENTRE[0]) ** 2 + (y - BLOB_CENTRE[1]) ** 2 + (z - BLOB_CENTRE[2]) ** 2)
        / (2 * BLOB_SIGMA**2)
    )
    out = np.empty((len(age), 1, side, side, side), dtype=np.float32)
    for i in range(len(age)):
        ageing = (age[i] - 20.0) / 60.0
        size = 1.0 - 0.15 * ageing
        radii = np.array([0.75 * (1.08 if sex[i] else 1.0), 0.85, 0.7]) * size
        inside = (x / radii[0]) ** 2 + (y / radii[1]) ** 2 + (z / radii[2]) ** 2 <= 1.0
        ventricle = 0.12 + 0.15 * ageing
        hollow = (x / (1.6 * ventricle)) ** 2 + (y / ventricle) ** 2 + (z / ventricle) ** 2 <= 1
        volume = np.where(inside, 0.6, 0.0) - np.where(inside & hollow, 0.45, 0.0)
        volume = volume - np.where(inside, BLOB_DEPTH * score[i] * blob, 0.0)
        volume = volume * _SITE_GAIN[site[i]] * (1.0 + _SITE_BIAS[site[i]] * z)
        volume = volume + rng.normal(0.0, _SITE_NOISE[site[i]], volume.shape)
        out[i, 0] = np.clip(volume, 0.0, 1.0)
    return out


def synthetic_brain(
    split: str = "train",
    root: str | Path | None = None,
    size: str = "small",
    side: int = 32,
) -> CADataset:
    """Healthy-control-like backgrounds and patient-like targets (see the module
    docstring). ``size``: ``small`` (300 + 300 train, 150 + 150 test) or ``default`` (600 +
    600, 300 + 300); ``side`` is the volume's edge in voxels. Factors over the targets:
    ``score`` (salient), ``age``, ``sex``, ``site`` (common); the background's common ones too.
    The salient mask marks the lesion's region (:func:`lesion_region`) in every target.
    The train, test and validation splits (the validation split has the test split's size)
    use other seeds.

    Parameters
    ----------
    size : {"small", "default"}
        ``small``: 300 + 300 train and 150 + 150 test subjects; ``default``: twice as many.
    side : int
        The volume's edge in voxels.

    Returns
    -------
    CADataset
        The split's background and target samples and their factors.
    """
    del root  # generated, nothing to read
    check_split(split, ("train", "validation", "test"))
    if size not in SYNTHETIC_BRAIN_SIZES:
        raise InvalidInputError(
            f"unknown size {size!r} for synthetic-brain; choose one of "
            f"{sorted(SYNTHETIC_BRAIN_SIZES)}"
        )
    n_train, n_test = SYNTHETIC_BRAIN_SIZES[size]
    n = n_train if split == "train" else n_test
    if isinstance(side, bool) or not isinstance(side, int) or side < 8:
        raise InvalidInputError(f"synthetic-brain needs a side of at least 8 voxels, got {side!r}")
    check_fits(
        2 * n * side**3 * 4 * 4,  # two groups of float32 volumes and their working copies
        f"synthetic-brain with side={side}",
        "lower side",
    )
    seed = {"train": 0, "test": 1, "validation": 2}[split]
    rng = np.random.default_rng(seed)
    groups = {}
    for name, has_blob in (("background", False), ("target", True)):
        age = rng.uniform(20.0, 80.0, n)
        sex = rng.integers(0, 2, n)
        site = rng.integers(0, 3, n)
        score = rng.uniform(0.0, 1.0, n) if has_blob else np.zeros(n)
        volumes = brain_volumes(age, sex, site, score, side, seed=10 * seed + int(has_blob))
        groups[name] = (volumes, {"age": age, "sex": sex, "site": site, "score": score})
    background, background_factors = groups["background"]
    target, factors = groups["target"]
    del background_factors["score"]
    region = lesion_region(side)
    return CADataset(
        name="synthetic-brain",
        split=split,
        background=background,
        target=target,
        factors=factors,
        roles={"score": "salient", "age": "common", "sex": "common", "site": "common"},
        background_factors=background_factors,
        salient_mask=np.broadcast_to(region, target.shape).copy(),
        protocol=ProbeProtocol(group_probe="representation"),
    )


def lesion_region(side: int) -> np.ndarray:
    """The voxels within two sigmas of the lesion's centre, where its depth is at least
    ``exp(-2)`` (13 %) of its peak.
    """
    x, y, z = _grid(side)
    distance = (x - BLOB_CENTRE[0]) ** 2 + (y - BLOB_CENTRE[1]) ** 2 + (z - BLOB_CENTRE[2]) ** 2
    return (distance <= (2 * BLOB_SIGMA) ** 2)[None]


register_dataset(
    DatasetInfo(
        "synthetic-brain",
        synthetic_brain,
        "generated 3-D brain volumes: a local lesion (salient score) on age, sex, site effects",
        "generated, nothing to download",
        sizes=tuple(SYNTHETIC_BRAIN_SIZES),
    )
)
