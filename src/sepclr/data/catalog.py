"""Contrastive-analysis datasets: a background set, a target set and labelled factors.

``load(name, root=None, split="train", **options)`` returns a :class:`CADataset`. Every
dataset is registered in :data:`sepclr.registry.DATASETS` with what the command line, the
downloads and the probes need to know of it.
"""

import difflib
import inspect
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sepclr.data import cifar, dsprites, mice_protein, paper_datasets
from sepclr.data.breast_cancer import breast_cancer_enlarged
from sepclr.data.ca_dataset import CADataset, check_split
from sepclr.data.celeba import CELEBA_HOW_TO_GET
from sepclr.data.locations import find_files
from sepclr.data.sources import (
    MNIST_HOW_TO_GET,
    fashion_mnist_files,
    idx_files,
    load_fashion_mnist,
    load_sklearn_digits,
)
from sepclr.data.synthetic_brain import SYNTHETIC_BRAIN_SIZES, synthetic_brain
from sepclr.data.tables import anndata_study, table_study
from sepclr.data.volumes import nifti_study
from sepclr.errors import DataNotFoundError, InvalidInputError
from sepclr.registry import DATASETS, DatasetInfo, register_dataset

# --- digits on Fashion-MNIST ---------------------------------------------------------------

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
    """scikit-learn 8x8 digits (values 0-16) made MNIST-like: scaled to [0, 1], bilinearly
    upsampled to 20x20, sharpened into strokes by ``1 / (1 + exp(-12 (v - 0.45)))`` and
    zero-padded (centred) to 28x28. Returns float32 (n, 28, 28)."""
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
    ``digit`` (salient) and ``object`` (the Fashion-MNIST class, common).

    ``split="validation"`` (for choosing settings without looking at the test split) has as
    many rows as the test split, made from Fashion-MNIST train images that the train split of
    this ``size`` does not use (seed 1) and digits of the train pool; ``size="full"`` uses
    every train image, so it has no validation split.
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
    )


# --- synthetic tabular ---------------------------------------------------------------------


def synthetic_tabular(
    split: str = "train",
    root: str | Path | None = None,
    n: int = 1_000,
    features: int = 20,
    seed: int = 0,
) -> CADataset:
    """A tabular CA problem with known ground truth, needing no files.

    Every sample has a ``shared`` class (3 values) that moves features 0-4; targets also have a
    ``salient`` class (3 values) that moves features 5-9; the other features are noise. A fixed
    random rotation (seed ``seed``) then mixes all features, so no single column holds a factor.
    ``n`` samples per group; the validation and test splits use fresh samples from the same
    distribution.
    """
    del root
    check_split(split, ("train", "validation", "test"))
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise InvalidInputError(f"synthetic-tabular needs n >= 2 samples per group, got {n!r}")
    if features < 12:
        raise InvalidInputError("synthetic-tabular needs at least 12 features")
    mixing, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(features, features)))
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
    )


# --- registry ------------------------------------------------------------------------------


def _fashion_paths(root: str | Path | None) -> list[Path]:
    return [*fashion_mnist_files("train", root), *fashion_mnist_files("test", root)]


def _mnist_paths(root: str | Path | None) -> list[Path]:
    return [
        *idx_files("mnist", "train", root, MNIST_HOW_TO_GET),
        *idx_files("mnist", "test", root, MNIST_HOW_TO_GET),
    ]


def _cifar_mnist_paths(root: str | Path | None) -> list[Path]:
    names = [(n,) for n in (*cifar.BATCHES["train"], *cifar.BATCHES["test"])]
    return [*find_files(cifar.FOLDER, names, root, cifar.CIFAR_HOW_TO_GET), *_mnist_paths(root)]


def _dsprites_paths(root: str | Path | None) -> list[Path]:
    found = find_files("dsprites", [(dsprites.FILE,)], root, dsprites.DSPRITES_HOW_TO_GET)
    return [*found, *_mnist_paths(root)]


def _celeba_paths(root: str | Path | None) -> list[Path]:
    names = [("list_attr_celeba.csv", "list_attr_celeba.txt")]
    return find_files("celeba", names, root, CELEBA_HOW_TO_GET)


def _chexpert_paths(root: str | Path | None) -> list[Path]:
    names = [("CheXpert-v1.0-small/train.csv",)]
    return find_files("chexpert", names, root, paper_datasets.CHEXPERT_HOW_TO_GET)


def _odir_paths(root: str | Path | None) -> list[Path]:
    return find_files("odir", [("data.csv",)], root, paper_datasets.ODIR_HOW_TO_GET)


for _info in (
    DatasetInfo(
        "digits-on-fashion",
        digits_on_fashion,
        "scikit-learn digits (salient) on Fashion-MNIST objects (common); offline Table 1",
        "apt-get install dataset-fashion-mnist, or put the Fashion-MNIST IDX files in "
        "$SEPCLR_DATA/fashion-mnist",
        _fashion_paths,
        downloads=("fashion-mnist",),
        sizes=tuple(DIGITS_ON_FASHION_SIZES),
    ),
    DatasetInfo(
        "cifar-mnist",
        paper_datasets.cifar_mnist,
        "MNIST digits (salient) on CIFAR-10 objects (common): the paper's Table 1",
        "sepclr download cifar-10 mnist",
        _cifar_mnist_paths,
        downloads=("cifar-10", "mnist"),
        probe_accuracy=True,
    ),
    DatasetInfo(
        "celeba-accessories",
        paper_datasets.celeba_accessories,
        "CelebA faces with glasses or hats (salient) against neither; sex is common",
        CELEBA_HOW_TO_GET,
        _celeba_paths,
        group_probe="representation",
    ),
    DatasetInfo(
        "dsprites-digit-grid",
        paper_datasets.dsprites_digit_grid,
        "dSprites shapes (salient: shape, scale, orientation, position) on MNIST digit grids",
        "sepclr download dsprites mnist",
        _dsprites_paths,
        downloads=("dsprites", "mnist"),
    ),
    DatasetInfo(
        "chexpert-subtypes",
        paper_datasets.chexpert_subtypes,
        "CheXpert X-rays: cardiomegaly, edema, effusion (salient) against healthy; age, sex",
        paper_datasets.CHEXPERT_HOW_TO_GET,
        _chexpert_paths,
        group_probe="head",
    ),
    DatasetInfo(
        "odir-subtypes",
        paper_datasets.odir_subtypes,
        "ODIR-5K fundus photographs: five diseases (salient) against normal; age, sex, eye",
        paper_datasets.ODIR_HOW_TO_GET,
        _odir_paths,
        group_probe="head",
    ),
    DatasetInfo(
        "synthetic-brain",
        synthetic_brain,
        "generated 3-D brain volumes: a local lesion (salient score) on age, sex, site effects",
        "generated, nothing to download",
        sizes=tuple(SYNTHETIC_BRAIN_SIZES),
        group_probe="representation",
    ),
    DatasetInfo(
        "nifti-study",
        nifti_study,
        "your NIfTI study: volumes listed in a participants table with group and covariates",
        "your own files: --data-dir holds participants.tsv (see sepclr.data.volumes)",
    ),
    DatasetInfo(
        "table-study",
        table_study,
        "your table (CSV, TSV, Parquet): rows split by a group column; numeric features",
        "your own file: --data-dir holds it (see sepclr.data.tables)",
    ),
    DatasetInfo(
        "anndata-study",
        anndata_study,
        "your single-cell AnnData (.h5ad): cells split by an obs column; genes as features",
        "your own file: --data-dir holds it (see sepclr.data.tables)",
    ),
    DatasetInfo(
        "mice-protein",
        mice_protein.mice_protein,
        "mouse cortex protein levels: Down-syndrome genotype (salient) in shocked mice (cPCA)",
        mice_protein.HOW_TO_GET,
        mice_protein.mice_protein_file,
        downloads=("mice-protein",),
    ),
    DatasetInfo(
        "breast-cancer-enlarged",
        breast_cancer_enlarged,
        "breast-cancer nuclei, half the targets enlarged (salient); the diagnosis is common",
        "generated from scikit-learn's copy of the Wisconsin table, nothing to download",
    ),
    DatasetInfo(
        "synthetic-tabular",
        synthetic_tabular,
        "generated tabular data with a shared and a target-only factor",
        "generated, nothing to download",
    ),
):
    register_dataset(_info)


def load(
    name: str, root: str | Path | None = None, split: str = "train", **options: Any
) -> CADataset:
    """Load the contrastive-analysis dataset ``name`` for ``split``.

    Parameters
    ----------
    name : str
        A dataset of :data:`sepclr.registry.DATASETS` (``sepclr datasets`` lists them).
    root : str or Path, optional
        A folder searched first for the dataset's files.
    split : {"train", "validation", "test"}
        The split; not every dataset has a validation split.
    **options
        Options of the dataset's builder (e.g. ``size="small"`` for digits-on-fashion).

    Returns
    -------
    CADataset
        The background and target samples and the labelled factors of the targets.

    Examples
    --------
    >>> from sepclr.datasets import load
    >>> data = load("synthetic-tabular", n=50)
    >>> data.background.shape, data.target.shape, sorted(data.factors)
    ((50, 20), (50, 20), ['salient', 'shared'])
    """
    if name not in DATASETS:
        close = difflib.get_close_matches(str(name), list(DATASETS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InvalidInputError(f"unknown dataset {name!r}{hint} Available: {sorted(DATASETS)}")
    options = checked_options(name, options)
    listed = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    return DATASETS[name].build(split=split, root=root, **listed)


def checked_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` of dataset ``name`` with every name known (else an error listing the
    options) and lists of names as lists: one plain name, or ``"a,b,c"``, becomes a list.

    >>> checked_options("table-study", {"factors": "age,sex"})
    {'factors': ['age', 'sex']}
    """
    defaults = {option: default for option, default, _ in dataset_options(name)}
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise InvalidInputError(
            f"{name} has no option {', '.join(unknown)}; its options are {', '.join(defaults)}"
        )
    parameters = inspect.signature(DATASETS[name].build).parameters
    checked = dict(options)
    for option, value in options.items():
        if "tuple[str" in str(parameters[option].annotation) and isinstance(value, str):
            checked[option] = [v.strip() for v in value.split(",") if v.strip()]
    return checked


def dataset_options(name: str) -> list[tuple[str, Any, str]]:
    """The options of dataset ``name``'s builder: (name, default, meaning), the meaning
    read from the builder's numpydoc ``Parameters`` section ("" where it has none).

    >>> [option for option, _, _ in dataset_options("synthetic-tabular")]
    ['n', 'features', 'seed']
    """
    build = DATASETS[name].build
    meanings = _parameter_docs(build.__doc__ or "")
    return [
        (option, parameter.default, meanings.get(option, ""))
        for option, parameter in inspect.signature(build).parameters.items()
        if option not in ("split", "root")
    ]


def _parameter_docs(doc: str) -> dict[str, str]:
    """Each parameter's description in a numpydoc ``Parameters`` section, joined on one
    line (entries such as ``a, b : str`` give both names the same text)."""
    lines = inspect.cleandoc(doc).splitlines()
    if "Parameters" not in lines:
        return {}
    docs: dict[str, str] = {}
    names: list[str] = []
    for line in lines[lines.index("Parameters") + 2 :]:
        if not line.strip():
            break
        if not line.startswith(" "):
            names = [n.strip() for n in line.split(" : ")[0].split(",")]
            docs |= dict.fromkeys(names, "")
        else:
            for n in names:
                docs[n] = (docs[n] + " " + line.strip()).strip()
    return docs


def availability(root: str | Path | None = None) -> list[tuple[str, str, str, str]]:
    """For each dataset: (name, description, where its files are or 'missing', how to get).

    >>> row = availability()[-1]
    >>> row[0], row[2]
    ('synthetic-tabular', 'built in')
    """
    rows = []
    for name, info in DATASETS.items():
        if info.files is None:
            generated = info.how_to_get.startswith("generated")
            where = "built in" if generated else "yours (see its options)"
        else:
            try:
                where = str(info.files(root)[0].parent)
            except DataNotFoundError:
                where = "missing"
        rows.append((name, info.description, where, info.how_to_get))
    return rows
