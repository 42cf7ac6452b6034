"""Real blood cells with a planted interferon response: the single-cell benchmark.

The cells are the peripheral blood mononuclear cells that scanpy ships
(``scanpy.datasets.pbmc68k_reduced``: 700 cells of 10x Genomics' 68k PBMCs, Zheng et al.,
*Nat. Commun.* 8, 14049, 2017), 765 genes, with their published cell-type labels, grouped
into four lineages (B, T and NK, dendritic, monocyte); the 13 CD34+ progenitors are left
out, too few to probe. Their raw
counts are recovered exactly from the shipped log-normalised values and per-cell totals.
The cells are split at random into a background and a target group, each holding every cell
type in the file's proportions, so the cell type is a common factor. In 60 % of the targets
(``responding``) ten interferon-stimulated genes that the file holds (OAS1, IFITM1, IFITM2,
IFITM3, LY6E, ISG20, IRF7, BST2, PSME2, IRF1) are up-regulated: each gets extra Poisson
counts at ``strength`` times its mean frequency, scaled by the cell's library size and by a
per-cell ``response`` in [0.5, 1] times a cell-type weight (myeloid cells 1.0, B cells 0.7,
T and NK cells 0.4: type I interferon acts most on monocytes and
dendritic cells). The response is therefore partly entangled with the cell type, and it also
shifts every cell's library size, as a real stimulation does. The answer is known by
construction. The counts are then prepared as :mod:`sepclr.data.cells` prepares any counts.
"""

import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from sepclr.data.ca_dataset import CADataset, check_split, stratified_groups
from sepclr.data.cells import fit_preparation
from sepclr.data.readers import read_anndata
from sepclr.errors import DataNotFoundError, InvalidInputError
from sepclr.registry import DatasetInfo, register_dataset

PROGRAM = ("OAS1", "IFITM1", "IFITM2", "IFITM3", "LY6E", "ISG20", "IRF7", "BST2", "PSME2", "IRF1")
CELL_TYPES = {  # lineage of each of the file's labels, and its weight in the response
    "CD14+ Monocyte": ("monocyte", 1.0),
    "Dendritic": ("dendritic", 1.0),
    "CD19+ B": ("B", 0.7),
    "CD56+ NK": ("T/NK", 0.4),
    "CD4+/CD25 T Reg": ("T/NK", 0.4),
    "CD4+/CD45RO+ Memory": ("T/NK", 0.4),
    "CD4+/CD45RA+/CD25- Naive T": ("T/NK", 0.4),
    "CD8+ Cytotoxic T": ("T/NK", 0.4),
    "CD8+/CD45RA+ Naive Cytotoxic": ("T/NK", 0.4),
}
LINEAGES = ("B", "T/NK", "dendritic", "monocyte")
_SPLIT_SHARES = {"train": 0.5, "validation": 0.2, "test": 0.3}
_RESPONDING = 0.6


def _real_counts() -> tuple[np.ndarray, list[str], np.ndarray]:
    """scanpy's 700 PBMCs as raw counts, their genes and their lineage (index in
    :data:`LINEAGES`)."""
    try:
        path = Path(str(resources.files("scanpy.datasets") / "10x_pbmc68k_reduced.h5ad"))
    except ModuleNotFoundError as exc:
        raise DataNotFoundError(
            "pbmc-interferon reads the PBMCs that scanpy ships: pip install 'sepclr[singlecell]'"
        ) from exc
    with warnings.catch_warnings():  # the shipped file is in an older anndata format
        warnings.simplefilter("ignore")
        data = read_anndata(path)
    data = data[data.obs["bulk_labels"].astype(str) != "CD34+"]
    log_expression = np.asarray(
        data.raw.X.toarray() if hasattr(data.raw.X, "toarray") else data.raw.X
    )
    totals = data.obs["n_counts"].to_numpy(dtype=np.float64)[:, None]
    counts = np.round(np.expm1(log_expression.astype(np.float64)) * totals / 1e4)
    lineage = np.array([LINEAGES.index(CELL_TYPES[str(t)][0]) for t in data.obs["bulk_labels"]])
    return counts, [str(g) for g in data.raw.var_names], lineage


def _plant_response(
    counts: np.ndarray, genes: list[str], lineage: np.ndarray, targets: np.ndarray, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """The counts with the interferon program planted in part of ``targets``, and each cell's
    response (0 where none)."""
    rng = np.random.default_rng(1)
    weight = np.array([dict(CELL_TYPES.values())[name] for name in LINEAGES])[lineage]
    response = np.zeros(len(counts))
    responding = rng.permutation(targets)[: round(_RESPONDING * len(targets))]
    response[responding] = rng.uniform(0.5, 1.0, len(responding)) * weight[responding]
    program = [genes.index(g) for g in PROGRAM]
    library = counts.sum(axis=1, keepdims=True)
    frequency = (counts[:, program] / library).mean(axis=0, keepdims=True)
    rate = strength * response[:, None] * library * frequency
    planted = counts.copy()
    planted[:, program] += rng.poisson(rate)
    return planted, response


def planted_cells(strength: float) -> dict[str, Any]:
    """Every cell of the benchmark before preparation: ``counts`` (cells x genes), ``genes``,
    ``cell_type`` (index in :data:`LINEAGES`), ``group`` (1 for targets), ``split`` (0 train,
    1 validation, 2 test) and ``response`` (0 where none).
    """
    counts, genes, lineage = _real_counts()
    group, split = stratified_groups(lineage, tuple(_SPLIT_SHARES.values()))
    counts, response = _plant_response(counts, genes, lineage, np.flatnonzero(group == 1), strength)
    return {
        "counts": counts,
        "genes": genes,
        "cell_type": lineage,
        "group": group,
        "split": split,
        "response": response,
    }


def pbmc_interferon(
    split: str = "train",
    root: str | Path | None = None,
    strength: float = 10.0,
    genes: int = 2000,
) -> CADataset:
    """Real PBMCs (background) against PBMCs of which 60 % respond to interferon (target).

    About 175 background and 175 target cells in the train split (50 %), 70 + 70 in the
    validation split (20 %), 105 + 105 in the test split (30 %). Factors over target cells:
    ``responding`` (salient, 0 or 1), ``response`` (salient, its strength, 0 where none) and
    ``cell_type`` (common, one of :data:`LINEAGES`; over background cells too). The salient
    mask marks the program's genes (among those kept) of the responding targets.

    Parameters
    ----------
    strength : float
        The fold of extra expression of the program's genes in a fully responding myeloid
        cell; above 0.
    genes : int
        How many highly variable genes to keep (chosen on the train split's cells of both
        groups); 0 keeps every gene.

    Returns
    -------
    CADataset
        The split's log-expression of the chosen genes and their factors.
    """
    del root
    check_split(split, tuple(_SPLIT_SHARES))
    if isinstance(strength, bool) or not isinstance(strength, int | float) or not strength > 0:
        raise InvalidInputError(f"strength must be a number above 0, got {strength!r}")
    cells = planted_cells(strength)
    counts, names, split_of, group = cells["counts"], cells["genes"], cells["split"], cells["group"]
    lineage, response = cells["cell_type"], cells["response"]
    preparation = fit_preparation(counts[split_of == 0], names, genes, "pbmc-interferon")
    rows = split_of == tuple(_SPLIT_SHARES).index(split)
    bg, tg = rows & (group == 0), rows & (group == 1)
    x = preparation.apply(counts, names, "pbmc-interferon")
    in_program = np.isin(np.asarray(preparation.selected), PROGRAM)
    return CADataset(
        name="pbmc-interferon",
        split=split,
        background=x[bg],
        target=x[tg],
        factors={
            "responding": (response[tg] > 0).astype(np.int64),
            "response": response[tg],
            "cell_type": lineage[tg],
        },
        roles={"responding": "salient", "response": "salient", "cell_type": "common"},
        background_factors={"cell_type": lineage[bg]},
        label_names={"cell_type": list(LINEAGES), "responding": ["no", "yes"]},
        feature_names=list(preparation.selected),
        preparation=preparation,
        salient_mask=(response[tg, None] > 0) & in_program,
    )


register_dataset(
    DatasetInfo(
        "pbmc-interferon",
        pbmc_interferon,
        "real PBMCs (scanpy's 700), an interferon program planted in 60 % of the targets "
        "(salient); the cell type is common",
        "generated from the PBMCs that scanpy ships (pip install 'sepclr[singlecell]')",
        preset="single-cell",
    )
)
