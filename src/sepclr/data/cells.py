"""Single-cell expression prepared as scanpy users prepare it, before a model sees it.

Raw counts are detected (non-negative integers), scaled to ``target_sum`` counts per cell
and log-transformed (``log(1 + x)``); expression that is already log-normalised (non-negative,
not integer) is used as it is. The highly variable genes are then chosen on both groups'
cells together, without labels (scanpy's ``highly_variable_genes``, the Seurat flavour, on the
log-expression). :class:`CellPreparation` records all of it, so that new cells are prepared
the same way; the library size of a cell is always summed over the genes the preparation was
fitted on, so extra genes in a new file change nothing.

Choosing genes needs scanpy (``pip install 'sepclr[singlecell]'``).
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from sepclr.errors import InvalidInputError

TARGET_SUM = 1e4
TOP_GENES = 2000
_LOG_MAX = 30.0  # log1p of 10,000 counts per cell is at most 9.2; larger values are not logs


def is_anndata(x: Any) -> bool:
    """Whether ``x`` is an AnnData (cells in ``obs``, genes in ``var_names``)."""
    return all(hasattr(x, name) for name in ("obs", "var_names", "X", "layers"))


def cell_matrix(cells: Any, layer: str | None = None) -> np.ndarray:
    """The dense float32 cells x genes matrix of an AnnData: ``X``, or ``layers[layer]``."""
    if layer is not None and layer not in cells.layers:
        raise InvalidInputError(f"the AnnData has no layer {layer!r}; it has {list(cells.layers)}")
    matrix = cells.X if layer is None else cells.layers[layer]
    dense = matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)
    return np.asarray(dense, dtype=np.float32)


def is_counts(x: np.ndarray) -> bool:
    """Whether ``x`` holds raw counts: non-negative integers."""
    return bool((x >= 0).all() and np.array_equal(x, np.round(x)))


def log_normalise(counts: np.ndarray, target_sum: float = TARGET_SUM) -> np.ndarray:
    """Counts scaled to ``target_sum`` per cell, then ``log(1 + x)``."""
    totals = counts.sum(axis=1, keepdims=True, dtype=np.float64)
    return np.log1p(counts * (target_sum / totals)).astype(np.float32)


def highly_variable(log_expression: np.ndarray, n_top: int) -> np.ndarray:
    """The ``n_top`` most variable genes, scanpy's way (Seurat flavour: dispersions normalised
    within bins of mean expression), the first in the genes' order among ties.
    """
    if n_top >= log_expression.shape[1]:
        return np.ones(log_expression.shape[1], dtype=bool)
    try:
        import anndata
        import scanpy as sc
    except ImportError as exc:
        raise InvalidInputError(
            "choosing highly variable genes needs scanpy: pip install 'sepclr[singlecell]', "
            "or keep every gene (genes=0)"
        ) from exc
    table = sc.pp.highly_variable_genes(
        anndata.AnnData(log_expression), n_top_genes=n_top, flavor="seurat", inplace=False
    )
    dispersion = np.nan_to_num(np.asarray(table["dispersions_norm"], float), nan=-np.inf)
    chosen = np.zeros(len(dispersion), dtype=bool)
    chosen[np.argsort(-dispersion, kind="stable")[:n_top]] = True  # exactly n_top, ties too
    return chosen


@dataclass(frozen=True)
class CellPreparation:
    """How cells were prepared for a model, to prepare new ones the same way.

    Parameters
    ----------
    genes : tuple of str
        Every gene of the cells it was fitted on, over which a cell's library size is summed.
    selected : tuple of str
        The genes the model reads, in order.
    counts : bool
        Whether the input is raw counts (normalised and log-transformed here) or
        log-expression (used as it is).
    target_sum : float
        The counts of every cell after scaling.
    """

    genes: tuple[str, ...]
    selected: tuple[str, ...]
    counts: bool
    target_sum: float = TARGET_SUM

    def apply(self, x: np.ndarray, genes: list[str], source: str = "the cells") -> np.ndarray:
        """The model input of cells: their selected genes' log-expression.

        Parameters
        ----------
        x : ndarray, shape (cells, genes)
            Expression as the preparation was fitted on (counts or log-expression).
        genes : list of str
            The name of each column of ``x``; it must hold every gene of :attr:`genes`.
        source : str
            Where the cells come from, in error messages.

        Returns
        -------
        ndarray of float32, shape (cells, len(selected))
            The model input.

        Raises
        ------
        InvalidInputError
            For a missing gene, negative or non-integer counts, or a cell without counts.
        """
        column = {name: k for k, name in enumerate(genes)}
        missing = [g for g in self.genes if g not in column]
        if missing:
            raise InvalidInputError(
                f"{source} lack {len(missing)} of the {len(self.genes)} genes the model was "
                f"prepared on (first: {', '.join(missing[:3])}); give the same genes"
            )
        ours = np.asarray(x, dtype=np.float32)[:, [column[g] for g in self.genes]]
        check_expression(ours, self.counts, source)
        prepared = log_normalise(ours, self.target_sum) if self.counts else ours
        index = {name: k for k, name in enumerate(self.genes)}
        return prepared[:, [index[g] for g in self.selected]]

    def describe(self) -> str:
        """One line on what the preparation does.

        Returns
        -------
        str
            The input kind, its transform and the genes kept.
        """
        how = (
            f"raw counts, scaled to {self.target_sum:g} per cell and log1p-transformed"
            if self.counts
            else "log-expression, used as it is"
        )
        return f"cells: {how}; {len(self.selected)} of {len(self.genes)} genes kept"

    def as_json(self) -> dict[str, Any]:
        """The preparation as JSON values.

        Returns
        -------
        dict
            Its fields.
        """
        return {
            "input": "counts" if self.counts else "log-expression",
            "target_sum": self.target_sum,
            "genes": list(self.genes),
            "selected": list(self.selected),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> "CellPreparation":
        """The preparation that :meth:`as_json` wrote.

        Parameters
        ----------
        value : dict
            What :meth:`as_json` returned.

        Returns
        -------
        CellPreparation
            The same preparation.
        """
        return cls(
            genes=tuple(str(g) for g in value["genes"]),
            selected=tuple(str(g) for g in value["selected"]),
            counts=value["input"] == "counts",
            target_sum=float(value["target_sum"]),
        )


def check_expression(x: np.ndarray, counts: bool, source: str) -> None:
    """Refuse, in one line, expression that cannot be prepared as ``counts`` says."""
    if not np.isfinite(x).all():
        raise InvalidInputError(f"{source} hold NaN or infinite expression values")
    if (x < 0).any():
        cell, gene = np.argwhere(x < 0)[0]
        raise InvalidInputError(
            f"{source} hold negative expression ({x[cell, gene]:.3g} in cell {cell}): it looks "
            "scaled; give raw counts or log-normalised expression (a layer, or adata.raw)"
        )
    if not counts:
        return
    if not np.array_equal(x, np.round(x)):
        raise InvalidInputError(f"{source} should be raw counts (integers) as at fit")
    empty = np.flatnonzero(x.sum(axis=1) == 0)
    if len(empty):
        raise InvalidInputError(
            f"{source}: {len(empty)} cell(s) have no counts (first: cell {empty[0]}); leave "
            "them out (scanpy.pp.filter_cells(adata, min_counts=1))"
        )


def fit_preparation(
    x: np.ndarray, genes: list[str], n_top: int = TOP_GENES, source: str = "the cells"
) -> CellPreparation:
    """Decide how to prepare cells: counts or log-expression, and which genes to keep.

    Parameters
    ----------
    x : ndarray, shape (cells, genes)
        The training cells of both groups (no labels are used).
    genes : list of str
        The name of each column.
    n_top : int
        How many highly variable genes to keep; 0 keeps every gene.
    source : str
        Where the cells come from, in error messages.

    Returns
    -------
    CellPreparation
        The preparation.

    Raises
    ------
    InvalidInputError
        For expression that is neither counts nor log-expression, or a cell without counts.
    """
    if n_top < 0:
        raise InvalidInputError(f"genes must be 0 (every gene) or more, got {n_top}")
    counts = is_counts(x)
    check_expression(x, counts, source)
    if not counts and x.max() > _LOG_MAX:
        raise InvalidInputError(
            f"{source} are neither raw counts (integers) nor log-expression (values up to "
            f"{x.max():.3g}); give raw counts, or log1p-normalised expression"
        )
    log_expression = log_normalise(x) if counts else x
    keep = highly_variable(log_expression, n_top) if n_top else np.ones(len(genes), dtype=bool)
    selected = tuple(g for g, kept in zip(genes, keep, strict=True) if kept)
    return CellPreparation(tuple(genes), selected, counts)
