"""The paper's contrastive-analysis datasets, built from the original files as the official
code builds them (``neurospin-projects/2024_rlouiset_sep_clr``), with fixed
seeds where the official code has none. Each builder's docstring lists its deviations."""

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from sepclr.data.ca_dataset import CADataset, ProbeProtocol, check_split
from sepclr.data.celeba import celeba_files
from sepclr.data.cifar import CLASSES as CIFAR_CLASSES
from sepclr.data.cifar import load_cifar10
from sepclr.data.dsprites import load_dsprites
from sepclr.data.folder import LabelledFolder, labelled_folder, read_table
from sepclr.data.images import read_images
from sepclr.data.locations import find_files
from sepclr.data.sources import load_mnist
from sepclr.errors import InvalidInputError

# --- Digits on CIFAR-10 (Table 1) -----------------------------------------------------------

CIFAR_MNIST_PER_GROUP = {"train": 25_000, "test": 500}


def _mnist_32x32x3(digits: np.ndarray) -> np.ndarray:
    """MNIST digits zero-padded by 2 to 32x32 and repeated on 3 channels, uint8."""
    padded = np.pad(digits, ((0, 0), (2, 2), (2, 2)))
    return np.repeat(padded[:, None], 3, axis=1)


def cifar_mnist(
    split: str = "train", root: str | Path | None = None, per_group: int | None = None
) -> CADataset:
    """MNIST digits superimposed on CIFAR-10 objects (paper Table 1; official
    ``cifar_mnist/dataset.py``).

    The first ``2 n`` CIFAR-10 images of the split are paired by index with the first
    ``2 n`` MNIST digits (n = 25,000 train, 500 test): rows ``0..n-1`` are the background,
    ``0.5 * cifar / 255``; rows ``n..2n-1`` the target, ``(0.5 * cifar + 0.5 * mnist) / 255``,
    the digit zero-padded to 32x32 and repeated on 3 channels. float32 (n, 3, 32, 32).
    Factors over the targets: ``digit`` (salient) and ``object`` (the CIFAR-10 class, common);
    the background's ``object`` too. No deviation from the official construction.
    ``per_group`` replaces n (for quick runs; None is the paper's).

    Parameters
    ----------
    per_group : int, optional
        Rows per group, instead of the paper's (for quick runs).

    Returns
    -------
    CADataset
        The split's background and target samples and their factors.
    """
    check_split(split)
    n = CIFAR_MNIST_PER_GROUP[split] if per_group is None else int(per_group)
    objects, object_labels = load_cifar10(split, root)
    digits, digit_labels = load_mnist(split, root)
    if len(objects) < 2 * n or len(digits) < 2 * n:
        raise InvalidInputError(
            f"cifar-mnist {split} needs {2 * n} CIFAR-10 and MNIST images; the files hold "
            f"{len(objects)} and {len(digits)}"
        )
    background = 0.5 * objects[:n].astype(np.float32) / 255.0
    target = (0.5 * objects[n : 2 * n].astype(np.float32)) / 255.0
    target += (0.5 * _mnist_32x32x3(digits[n : 2 * n]).astype(np.float32)) / 255.0
    return CADataset(
        name="cifar-mnist",
        split=split,
        background=background,
        target=target,
        factors={"digit": digit_labels[n : 2 * n], "object": object_labels[n : 2 * n]},
        roles={"digit": "salient", "object": "common"},
        background_factors={"object": object_labels[:n]},
        label_names={"object": list(CIFAR_CLASSES)},
        protocol=ProbeProtocol(accuracy=True),
    )


# --- CelebA accessories ---------------------------------------------------------------------

CELEBA_GROUPS = {  # name: (Eyeglasses, Wearing_Hat, images per sex)
    "background": (-1, -1, 6_000),
    "glasses": (1, -1, 3_000),
    "hats": (-1, 1, 3_000),
}
CELEBA_VARIANTS = {128: 176, 64: 108}  # output size: centre crop


def celeba_accessories(
    split: str = "train",
    root: str | Path | None = None,
    size: int = 128,
    per_sex_scale: float = 1.0,
) -> CADataset:
    """Faces with glasses or hats (target) against faces with neither (background),
    official ``celeba_accessories/create_dataset.py``.

    Each group is balanced on ``Male``: background 6,000 + 6,000, glasses 3,000 + 3,000,
    hats 3,000 + 3,000 (the first images of each kind in file order), 24,000 in all, split
    80/20 with ``random_state=0`` (the official split has no seed). ``size=128``: centre crop
    176, bilinear resize to 128 (the SepCLR code); ``size=64``: centre crop 108, resize 64 (the
    SepVAE code's resolution; the SepVAE code also skips the sex balance, kept here).
    uint8 (n, 3, size, size). Factors over the targets: ``accessory`` (glasses 0 / hats 1,
    salient) and ``sex`` (male 1, common); the background's ``sex`` too. ``per_sex_scale``
    scales every group's size (1.0 is the paper's; smaller for quick runs).

    Parameters
    ----------
    size : {128, 64}
        The images' side: 128 as the SepCLR code, 64 as the SepVAE code.
    per_sex_scale : float
        Scales every group's size (1.0 is the paper's; smaller for quick runs).

    Returns
    -------
    CADataset
        The split's background and target samples and their factors.
    """
    check_split(split)
    if size not in CELEBA_VARIANTS:
        raise InvalidInputError(f"celeba-accessories size must be 128 or 64, got {size!r}")
    folder, attributes = celeba_files(root)
    glasses, hat, male = (attributes.column(n) for n in ("Eyeglasses", "Wearing_Hat", "Male"))
    chosen: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    for group, (has_glasses, has_hat, per_sex) in enumerate(CELEBA_GROUPS.values()):
        wanted = max(1, round(per_sex * per_sex_scale))
        for sex_value in (-1, 1):
            match = (glasses == has_glasses) & (hat == has_hat) & (male == sex_value)
            found = np.flatnonzero(match)
            if len(found) < wanted:
                raise InvalidInputError(
                    f"celeba-accessories needs {wanted} images of group {group} and sex "
                    f"{sex_value}; the attributes list {len(found)}"
                )
            chosen.append(found[:wanted])
            kinds.append(np.full(wanted, group))
    rows, kind = np.concatenate(chosen), np.concatenate(kinds)
    train_rows, test_rows = train_test_split(np.arange(len(rows)), test_size=0.2, random_state=0)
    keep = np.sort(train_rows if split == "train" else test_rows)
    rows, kind = rows[keep], kind[keep]
    paths = [folder / attributes.images[r] for r in rows]
    images = read_images(paths, size, crop=CELEBA_VARIANTS[size])
    sex = (male[rows] > 0).astype(np.int64)
    is_target = kind > 0
    return CADataset(
        name="celeba-accessories",
        split=split,
        background=images[~is_target],
        target=images[is_target],
        factors={"accessory": kind[is_target] - 1, "sex": sex[is_target]},
        roles={"accessory": "salient", "sex": "common"},
        background_factors={"sex": sex[~is_target]},
        protocol=ProbeProtocol(group_probe="representation"),
    )


# --- dSprites on a digit grid ---------------------------------------------------------------

DSPRITES_SIZES = {"train": 50_000, "test": 5_000}
_GRID = ((1, 0, 0), (3, 0, 32), (2, 32, 0), (4, 32, 32))  # digit, top, left


def dsprites_digit_grid(
    split: str = "train",
    root: str | Path | None = None,
    n_train: int = DSPRITES_SIZES["train"],
    n_test: int = DSPRITES_SIZES["test"],
) -> CADataset:
    """dSprites shapes on a 2x2 grid of MNIST digits, official
    ``dsprite_digit_grid/dataset.py``.

    Orientations are mapped to (-pi, pi] and only ``|theta| < pi/4`` is kept; the kept sprites
    are shuffled with seed 0 (the official ``random.shuffle`` call takes no seed); the train
    split takes the first ``n_train`` (50,000), the test split the next ``n_test`` (5,000).
    Every image is a 64x64 canvas of four MNIST digits padded to 32x32, a "1" top left, a "3"
    top right, a "2" bottom left, a "4" bottom right (instances drawn with seed 0 for train,
    1 for test, from MNIST's train or test split; unseeded in the official code); the first
    half of a split is background, the second half target, where the sprite is added at 255
    and clipped. uint8 (n, 1, 64, 64). Factors over the targets, all salient: ``shape``
    (0-2), and the continuous ``scale``, ``orientation``, ``posX``, ``posY``.

    Parameters
    ----------
    n_train : int
        Images in the train split.
    n_test : int
        Images in the test split.

    Returns
    -------
    CADataset
        The split's background and target samples and their factors.
    """
    check_split(split)
    images, latents = load_dsprites(root)
    orientation = latents[:, 3] - 2 * np.pi * (latents[:, 3] > np.pi)
    kept = np.flatnonzero(np.abs(orientation) < np.pi / 4)
    kept = kept[np.random.default_rng(0).permutation(len(kept))]
    if len(kept) < n_train + n_test:
        raise InvalidInputError(
            f"dsprites-digit-grid needs {n_train + n_test} sprites with |orientation| < pi/4; "
            f"the file has {len(kept)}"
        )
    rows = kept[:n_train] if split == "train" else kept[n_train : n_train + n_test]
    digits, labels = load_mnist(split, root)
    rng = np.random.default_rng(0 if split == "train" else 1)
    grid = np.zeros((len(rows), 64, 64), dtype=np.uint8)
    padded = np.pad(digits, ((0, 0), (2, 2), (2, 2)))
    for digit, top, left in _GRID:
        pool = np.flatnonzero(labels == digit)
        if len(pool) == 0:
            raise InvalidInputError(f"MNIST {split} has no digit {digit} for the grid")
        grid[:, top : top + 32, left : left + 32] = padded[rng.choice(pool, size=len(rows))]
    half = len(rows) // 2
    target = np.minimum(grid[half:].astype(np.int16) + 255 * images[rows[half:]], 255)
    sprite_latents = latents[rows[half:]]
    factors = {
        "shape": sprite_latents[:, 1].astype(np.int64) - 1,
        "scale": sprite_latents[:, 2],
        "orientation": orientation[rows[half:]],
        "posX": sprite_latents[:, 4],
        "posY": sprite_latents[:, 5],
    }
    return CADataset(
        name="dsprites-digit-grid",
        split=split,
        background=grid[:half, None],
        target=target.astype(np.uint8)[:, None],
        factors=factors,
        roles=dict.fromkeys(factors, "salient"),
    )


# --- medical subtypes from a labelled folder ------------------------------------------------

CHEXPERT_HOW_TO_GET = (
    "Get CheXpert-v1.0-small (Stanford AIMI, after accepting its licence; not downloadable "
    "by sepclr) and put the CheXpert-v1.0-small folder into $SEPCLR_DATA/chexpert or "
    "~/.cache/sepclr/chexpert, or pass root=/--data-dir."
)
CHEXPERT_FINDINGS = ("Cardiomegaly", "Edema", "Pleural Effusion")
CHEXPERT_EXCLUDED = (
    "Pneumonia",
    "Enlarged Cardiomediastinum",
    "Pneumothorax",
    "Lung Lesion",
    "Pleural Other",
    "Fracture",
    "Consolidation",
    "Atelectasis",
)


def _flag(value: str) -> float:
    return float(value) if value.strip() else 0.0


def chexpert_subtypes(
    split: str = "train",
    root: str | Path | None = None,
    size: int = 224,
    healthy_cap: int = 10_000,
    disease_cap: int = 3_000,
) -> CADataset:
    """Healthy chest X-rays (background) against cardiomegaly, edema or pleural effusion
    (target), official ``chexpert_subtypes/create_dataset.py``, from
    ``CheXpert-v1.0-small/train.csv`` and its images (``root`` holds the
    ``CheXpert-v1.0-small`` folder).

    Frontal AP images only; a row that is not "No Finding" is dropped when any of
    :data:`CHEXPERT_EXCLUDED` is positive or uncertain, and kept only with exactly one of
    :data:`CHEXPERT_FINDINGS` positive and none uncertain. Caps in table order: 10,000 healthy,
    3,000 per disease (the official loop lets each go one over). Images: grayscale, 10-pixel
    border cropped, resized to ``size`` (224), one channel (the official code repeats it on 3
    channels for ImageNet weights, which this project does not ship). Split 90/10 with
    ``random_state=0``, as in the official code. Factors over the targets: ``subtype`` (0-2,
    salient), ``sex`` (male 1, common) and ``age`` (years, common); the background's ``sex``
    and ``age`` too.

    Parameters
    ----------
    root : str or Path, optional
        The folder that holds ``CheXpert-v1.0-small``.
    size : int
        The images' side.
    healthy_cap : int
        At most this many healthy images.
    disease_cap : int
        At most this many images per disease.

    Returns
    -------
    CADataset
        The split's background and target samples and their factors.
    """
    check_split(split)
    (table,) = find_files(
        "chexpert", [("CheXpert-v1.0-small/train.csv",)], root, CHEXPERT_HOW_TO_GET
    )
    folder = labelled_folder(table.parent.parent, table, "Path")
    kind_of, index = _chexpert_rows(folder, healthy_cap, disease_cap)
    train, test = train_test_split(np.arange(len(index)), test_size=0.1, random_state=0)
    keep = np.sort(train if split == "train" else test)
    kind_of, index = kind_of[keep], index[keep]
    images = read_images([folder.paths[i] for i in index], size, rgb=False, border=10, area=True)
    sex = np.asarray([folder.column("Sex")[i] != "Female" for i in index], dtype=np.int64)
    age = np.asarray([float(folder.column("Age")[i]) for i in index])
    common = {"sex": sex, "age": age}
    names = [*CHEXPERT_FINDINGS]
    return _subtypes("chexpert-subtypes", split, images, kind_of, common, names)


def _subtypes(
    name: str,
    split: str,
    images: np.ndarray,
    kind: np.ndarray,
    common: dict[str, np.ndarray],
    subtypes: list[str],
) -> CADataset:
    """Rows of kind 0 as background, the others as targets with ``subtype`` = kind - 1
    (salient, named ``subtypes``) and the ``common`` factors."""
    is_target = kind > 0
    return CADataset(
        name=name,
        split=split,
        background=images[~is_target],
        target=images[is_target],
        factors={"subtype": kind[is_target] - 1, **{k: v[is_target] for k, v in common.items()}},
        roles={"subtype": "salient", **dict.fromkeys(common, "common")},
        background_factors={k: v[~is_target] for k, v in common.items()},
        label_names={"subtype": subtypes},
        protocol=ProbeProtocol(group_probe="head"),
    )


def _chexpert_rows(
    folder: LabelledFolder, healthy_cap: int, disease_cap: int
) -> tuple[np.ndarray, np.ndarray]:
    """The kind (0 healthy, 1 + finding) and table index of every kept row."""
    col = folder.column
    kinds, rows, counts = [], [], {k: 0 for k in range(4)}
    for i in range(len(folder.paths)):
        if col("Frontal/Lateral")[i] != "Frontal" or col("AP/PA")[i] != "AP":
            continue
        healthy = _flag(col("No Finding")[i]) == 1
        if not healthy:
            if any(_flag(col(name)[i]) != 0 for name in CHEXPERT_EXCLUDED):
                continue
            flags = [_flag(col(name)[i]) for name in CHEXPERT_FINDINGS]
            if -1 in flags or flags.count(1) != 1:
                continue
        kind = 0 if healthy else 1 + flags.index(1)
        if counts[kind] >= (healthy_cap if kind == 0 else disease_cap):
            continue
        counts[kind] += 1
        kinds.append(kind)
        rows.append(i)
    return np.asarray(kinds), np.asarray(rows)


ODIR_HOW_TO_GET = (
    "Get ODIR-5K (after registering with its organisers; not downloadable by sepclr): put "
    "the per-patient table as data.csv (data.xlsx saved as CSV) and the fundus images in "
    "preprocessed_images/ into $SEPCLR_DATA/odir or ~/.cache/sepclr/odir, or pass "
    "root=/--data-dir."
)
ODIR_LABELS = ("N", "D", "G", "C", "A", "M")  # normal, then the five diseases kept
ODIR_CAPS = {"N": 2300, "D": 400, "G": 350, "C": 350, "A": 350, "M": 350}


def odir_subtypes(
    split: str = "train",
    root: str | Path | None = None,
    size: int = 224,
    table: str = "data.csv",
    images: str = "preprocessed_images",
    cap_scale: float = 1.0,
) -> CADataset:
    """Normal fundus photographs (background) against diabetes, glaucoma, cataract, AMD or
    myopia (target), official ``odir_subtypes/create_dataset.py``, from the per-patient
    table of ODIR-5K (``Left-Fundus``, ``Right-Fundus``, ``Patient Age``, ``Patient Sex`` and
    the label columns N, D, G, C, A, H, M, O) and its image folder.

    Each eye is a sample; a patient's eyes are kept only when exactly one of N, D, G, C, A, M
    is 1 (H and O are ignored). Caps in table order: N 2,300, D 400, G, C, A, M 350 each
    (times ``cap_scale``). Images RGB, resized to ``size`` (224), uint8 (the official code
    normalises BGR pixels with RGB ImageNet statistics, then rescales; not reproduced). An
    age of 1 means unknown and becomes the mean age. Split 90/10 stratified by diagnosis
    with ``random_state=0`` (the official split has no seed and first holds out 3 images).
    Factors over the targets: ``subtype`` (0-4 for D, G, C, A, M; salient), ``age``,
    ``sex`` (male 1) and ``eye`` (right 1), common; the background's common ones too.

    Parameters
    ----------
    size : int
        The images' side.
    table : str
        The per-patient table, in the dataset's folder.
    images : str
        The image folder, in the dataset's folder.
    cap_scale : float
        Scales the caps of every diagnosis.

    Returns
    -------
    CADataset
        The split's background and target samples and their factors.
    """
    check_split(split)
    (table_path,) = find_files("odir", [(table,)], root, ODIR_HOW_TO_GET)
    folder = table_path.parent / images
    columns = read_table(table_path)
    for needed in ("Left-Fundus", "Right-Fundus", "Patient Age", "Patient Sex", *ODIR_LABELS):
        if needed not in columns:
            raise InvalidInputError(f"{table_path} has no column {needed!r}")
    paths, rows = _odir_eyes(columns, folder, cap_scale)
    kind, age = rows["kind"], rows["age"]
    known = age != 1
    age[~known] = age[known].mean() if known.any() else 0.0
    train, test = train_test_split(
        np.arange(len(kind)), test_size=0.1, random_state=0, stratify=kind > 0
    )
    keep = np.sort(train if split == "train" else test)
    pixels = read_images([paths[i] for i in keep], size)
    common = {name: rows[name][keep] for name in ("age", "sex", "eye")}
    diseases = ["diabetes", "glaucoma", "cataract", "AMD", "myopia"]  # D, G, C, A, M
    return _subtypes("odir-subtypes", split, pixels, kind[keep], common, diseases)


def _odir_eyes(
    columns: dict[str, Any], folder: Path, cap_scale: float
) -> tuple[list[Path], dict[str, np.ndarray]]:
    """The image path of every kept eye, and its kind, age, sex and eye (right 1)."""
    counts = dict.fromkeys(ODIR_LABELS, 0)
    paths: list[Path] = []
    kinds, ages, sexes, eyes = [], [], [], []
    for i in range(len(columns["N"])):
        flags = [float(columns[label][i] or 0) == 1 for label in ODIR_LABELS]
        if sum(flags) != 1:
            continue
        label = ODIR_LABELS[flags.index(True)]
        for eye, column in enumerate(("Left-Fundus", "Right-Fundus")):
            if counts[label] >= round(ODIR_CAPS[label] * cap_scale):
                break
            counts[label] += 1
            paths.append(folder / columns[column][i])
            kinds.append(ODIR_LABELS.index(label))
            ages.append(float(columns["Patient Age"][i]))
            sexes.append(int(columns["Patient Sex"][i].strip().lower() == "male"))
            eyes.append(eye)
    arrays = {"kind": kinds, "age": ages, "sex": sexes, "eye": eyes}
    return paths, {name: np.asarray(values) for name, values in arrays.items()}
