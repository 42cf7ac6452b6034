"""Mouse cortex protein expression: a real contrastive-analysis table with a known answer.

The Mice Protein Expression data (Higuera, Gardiner & Cios, *PLoS ONE* 10(6): e0129126,
2015; UCI Machine Learning Repository, CC BY 4.0) hold 77 protein levels measured in the
cortex of 72 mice, 15 measurements per mouse, from control mice and from Ts65Dn mice, a
model of Down syndrome. The contrastive analysis is the one of contrastive PCA (Abid, Zhang,
Bagaria & Zou, *Nat. Commun.* 9: 2134, 2018, Fig. 2): the **target** holds the saline-injected
mice that were shocked before they could learn the context (``Behavior == "S/C"``), of both
genotypes; the **background** holds saline-injected control mice that learned
(``Behavior == "C/S"``). The genotype is the salient factor: cPCA separates Ts65Dn from control
targets, plain PCA does not. Part of the genotype's effect lies along proteins that vary
among control mice too, so a common code can carry it.

The file read is ``Data_Cortex_Nuclear.csv``, the UCI table as a CSV, from contrastive PCA's
repository (``sepclr download mice-protein``).
"""

from pathlib import Path

import numpy as np

from sepclr.data.ca_dataset import CADataset, check_split
from sepclr.data.folder import read_table
from sepclr.data.locations import find_files
from sepclr.data.resources import RemoteFile, Resource
from sepclr.errors import CorruptFileError, InvalidInputError
from sepclr.registry import DatasetInfo, register_dataset

FOLDER = "mice-protein"
FILE = "Data_Cortex_Nuclear.csv"
URL = "https://raw.githubusercontent.com/abidlabs/contrastive/master/experiments/datasets/" + FILE
MD5 = "e54682b0a7fa8e131b2634482965193c"
RESOURCE = Resource(FOLDER, FOLDER, (RemoteFile(URL, MD5),))
HOW_TO_GET = (
    f"sepclr download mice-protein, or put {FILE} (the UCI Mice Protein Expression table as "
    "CSV) in $SEPCLR_DATA/mice-protein"
)
FOLDS = 3
PROTEINS = 77
_LABEL_COLUMNS = ("MouseID", "Genotype", "Treatment", "Behavior")
GENOTYPES = ("Control", "Ts65Dn")


def mice_protein_file(root: str | Path | None = None) -> list[Path]:
    """Where the table is."""
    return find_files(FOLDER, [(FILE,)], root, HOW_TO_GET)


def _read(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The protein levels (float64, NaN where the table is empty) and the label columns."""
    columns = read_table(path)
    missing = [c for c in _LABEL_COLUMNS if c not in columns]
    proteins = [c for c in columns if c.endswith("_N")]
    if missing or len(proteins) != PROTEINS:
        raise CorruptFileError(
            f"{path} is not the Mice Protein Expression table: it needs the columns "
            f"{', '.join(_LABEL_COLUMNS)} and {PROTEINS} protein columns ending in _N "
            f"(found {len(proteins)}{'; missing ' + ', '.join(missing) if missing else ''})"
        )
    try:
        levels = np.array(
            [[float(v) if v.strip() else np.nan for v in columns[c]] for c in proteins]
        ).T
    except ValueError as exc:
        raise CorruptFileError(f"{path}: a protein level is not a number ({exc})") from exc
    labels = {c: np.asarray(columns[c]) for c in _LABEL_COLUMNS}
    labels["mouse"] = np.array([m.rsplit("_", 1)[0] for m in labels["MouseID"]])
    return levels, labels


def _test_mice(labels: dict[str, np.ndarray], rows: np.ndarray, fold: int) -> set[str]:
    """The mice of test fold ``fold``: every third mouse of each genotype and behaviour, in
    an order shuffled with seed 0, so each fold holds a third of every kind of mouse."""
    rng = np.random.default_rng(0)
    chosen: set[str] = set()
    kinds = labels["Genotype"][rows] + "/" + labels["Behavior"][rows]
    for kind in np.unique(kinds):
        mice = rng.permutation(np.unique(labels["mouse"][rows][kinds == kind]))
        chosen |= set(mice[fold::FOLDS].tolist())
    return chosen


def mice_protein(split: str = "train", root: str | Path | None = None, fold: int = 0) -> CADataset:
    """Mouse cortex protein levels, target (shocked before learning, both genotypes) against
    background (control mice that learned); the genotype is salient.

    Background: 135 measurements of 9 control mice; target: 270 measurements of 9 control
    and 9 Ts65Dn mice, all saline-injected. Factors over target rows: ``genotype`` (salient;
    0 control, 1 Ts65Dn). No factor is common by design: the background and the target
    differ by behaviour as well, so a good common code holds what varies between mice of
    every kind, and ``delta_TOT`` scores the genotype alone (``S_genotype`` ideal 100,
    ``C_genotype`` ideal 50). Rows of one mouse are near-replicates, so the splits keep
    mice whole: the test split holds a third of the mice of every kind (``fold`` says
    which third), the train split the others. Missing levels (1.4 % of the table) are
    replaced by the protein's mean over the train split's rows.

    Parameters
    ----------
    fold : int
        Which third of the mice forms the test split: 0, 1 or 2.

    Returns
    -------
    CADataset
        The split's background and target samples and their factors.
    """
    check_split(split, ("train", "test"))
    if isinstance(fold, bool) or fold not in range(FOLDS):
        raise InvalidInputError(f"fold must be 0, 1 or 2, got {fold!r}")
    (path,) = mice_protein_file(root)
    levels, labels = _read(path)
    saline = labels["Treatment"] == "Saline"
    background = saline & (labels["Genotype"] == "Control") & (labels["Behavior"] == "C/S")
    target = saline & (labels["Behavior"] == "S/C")
    used = background | target
    if not background.any() or not target.any():
        raise CorruptFileError(
            f"{path} has no saline-injected control mice of behaviour C/S or no mice of "
            "behaviour S/C: not the Mice Protein Expression table"
        )
    in_test = np.isin(labels["mouse"], sorted(_test_mice(labels, used, fold)))
    train_rows = used & ~in_test
    fill = np.nanmean(levels[train_rows], axis=0)
    levels = np.where(np.isnan(levels), np.nan_to_num(fill), levels).astype(np.float32)
    rows = used & (in_test if split == "test" else ~in_test)
    genotype = np.searchsorted(GENOTYPES, labels["Genotype"][rows & target])
    return CADataset(
        name="mice-protein",
        split=split,
        background=levels[rows & background],
        target=levels[rows & target],
        factors={"genotype": genotype.astype(np.int64)},
        roles={"genotype": "salient"},
        label_names={"genotype": list(GENOTYPES)},
        subjects=(labels["mouse"][rows & background], labels["mouse"][rows & target]),
    )


register_dataset(
    DatasetInfo(
        "mice-protein",
        mice_protein,
        "mouse cortex protein levels: Down-syndrome genotype (salient) in shocked mice (cPCA)",
        HOW_TO_GET,
        mice_protein_file,
        downloads=(RESOURCE,),
    )
)
