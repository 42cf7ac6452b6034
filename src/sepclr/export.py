"""Embeddings out of a trained run: read samples from a file the run's dataset kind reads,
and write their common and salient codes where the user's tools look for them.

Inputs, by extension: ``.npy`` (an array of samples); ``.csv``, ``.tsv`` or ``.parquet``
(a table: the run's feature columns, or for a NIfTI study its participants table); ``.h5ad``
(an AnnData). Outputs, by extension: ``.csv`` or ``.parquet`` (columns ``common_0`` ...,
``salient_0`` ..., ``salient_score``, after the input's identifier column when it has one),
``.npz`` (arrays ``common``, ``salient`` and ``salient_score``), ``.h5ad`` (the input
AnnData with ``obsm["X_sepclr_common"]``, ``obsm["X_sepclr_salient"]`` and
``obs["sepclr_salient_score"]``). The salient score of a sample is its salient code's
distance to the information-less code ``s' = 0``
(:func:`sepclr.methods.codes.salient_scores`): about 0 for a sample like the
backgrounds, larger the more target-specific pattern it shows.
"""

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sepclr.data.catalog import DATASETS, dataset_options
from sepclr.data.cells import CellPreparation
from sepclr.data.readers import (
    SAMPLE_READERS,
    optional_module,
    read_anndata,
    read_columns,
    read_npy,
)
from sepclr.data.tables import ID_COLUMNS, anndata_features, fitted_order, table_features
from sepclr.engine.files import atomic_write, write_text
from sepclr.errors import InvalidInputError
from sepclr.methods.base import ContrastiveEstimator
from sepclr.methods.codes import code_columns, salient_scores

INPUTS = (".npy", ".csv", ".tsv", ".parquet", ".h5ad")
OUTPUTS = (".csv", ".parquet", ".npz", ".h5ad")
COMMON_KEY, SALIENT_KEY = "X_sepclr_common", "X_sepclr_salient"
SCORE_KEY = "sepclr_salient_score"


@dataclass
class Samples:
    """Samples read from a file.

    Parameters
    ----------
    x : ndarray
        The model input.
    ids : tuple of (str, ndarray), optional
        The identifier column's name and values, when the file has one.
    adata : AnnData, optional
        The AnnData they came from (for ``.h5ad``).
    """

    x: np.ndarray
    ids: tuple[str, np.ndarray] | None = None
    adata: Any = None


def read_samples(
    path: Path,
    dataset: str,
    options: dict[str, Any],
    id_column: str | None = None,
    fitted: list[str] | None = None,
    preparation: CellPreparation | None = None,
) -> Samples:
    """The samples of a file, read as the run's dataset reads its own.

    Tables and cells get the same feature columns (by name, where the model knows them) and
    normalisation, NIfTI volumes the same resampling.

    Parameters
    ----------
    path : Path
        The file (:data:`INPUTS` lists the formats).
    dataset : str
        The run's dataset.
    options : dict
        The run's dataset options.
    id_column : str, optional
        The table's identifier column (by default the first of
        :data:`sepclr.data.tables.ID_COLUMNS` present).
    fitted : list of str, optional
        The feature (or gene) names the model was fitted on.
    preparation : CellPreparation, optional
        How the run prepared its cells (an ``.h5ad`` input is prepared the same way).

    Returns
    -------
    Samples
        The model inputs, their identifiers, and the AnnData read (for ``.h5ad``).
    """
    suffix = path.suffix.lower()
    if suffix not in INPUTS:
        raise InvalidInputError(f"--input {path}: give one of {', '.join(INPUTS)}")
    if not path.is_file():
        raise InvalidInputError(f"--input {path} does not exist")
    if dataset in DATASETS:  # the builder's defaults for the options the run left out
        options = {name: default for name, default, _ in dataset_options(dataset)} | options
    if suffix == ".npy":
        return Samples(read_npy(path))
    if suffix == ".h5ad":
        data = read_anndata(path)
        layer, normalize = options.get("layer"), str(options.get("normalize", "none"))
        if preparation is not None:
            expression = anndata_features(data, layer, "none")
            x = preparation.apply(expression, [str(g) for g in data.var_names], str(path))
        else:
            x = _named(anndata_features(data, layer, normalize), data, fitted, path)
        return Samples(x, ("obs_names", np.asarray(data.obs_names)), data)
    columns = read_columns(path)
    ids = _identifiers(columns, id_column)
    names = (ids[0],) if ids else ()
    reader = SAMPLE_READERS.get(dataset)
    if reader is not None:
        return Samples(reader(path, columns, options, names, fitted), ids)
    features = None
    if fitted is not None:
        order = fitted_order(path, list(columns), fitted, names)
        features = tuple(list(columns)[i] for i in order)
    return Samples(table_features(path, columns, features, names, "none"), ids)


def samples_for_model(
    model: ContrastiveEstimator, run: dict[str, Any], path: Path, id_column: str | None = None
) -> Samples:
    """The samples of a file, read for the model of a run: its features by name, its cells
    prepared, and their shape checked.
    """
    names = getattr(model, "feature_names_in_", None)
    fitted = None if names is None else [str(name) for name in names]
    options = dict(run["dataset_options"])
    preparation = getattr(model, "preparation_", None)
    read = read_samples(path, run["dataset"], options, id_column, fitted, preparation)
    given, expected = tuple(np.shape(read.x)[1:]), model.sample_shape_
    if given not in (expected, expected[1:] if expected[:1] == (1,) else expected):
        raise InvalidInputError(
            f"{path} holds samples of shape {given}; the model was fitted on {expected}"
        )
    return read


def _named(x: np.ndarray, adata: Any, genes: list[str] | None, source: Any) -> np.ndarray:
    """The columns of ``x`` (the cells of ``adata``) for ``genes``, in that order."""
    if genes is None:
        return x
    return x[:, fitted_order(source, [str(g) for g in adata.var_names], genes)]


def _identifiers(
    columns: dict[str, np.ndarray], id_column: str | None
) -> tuple[str, np.ndarray] | None:
    if id_column is not None:
        if id_column not in columns:
            raise InvalidInputError(
                f"the input has no column {id_column!r}; its columns are {sorted(columns)}"
            )
        return id_column, columns[id_column]
    name = next((c for c in ID_COLUMNS if c in columns), None)
    return None if name is None else (name, columns[name])


def write_codes(path: Path, common: np.ndarray, salient: np.ndarray, samples: Samples) -> Path:
    """Write the codes in the format the file's extension names, atomically.

    Parameters
    ----------
    path : Path
        The file (:data:`OUTPUTS` lists the formats).
    common, salient : ndarray, shape (n, d)
        The codes.
    samples : Samples
        What :func:`read_samples` read (the identifiers, the AnnData).

    Returns
    -------
    Path
        The file written.
    """
    suffix = path.suffix.lower()
    if suffix not in OUTPUTS:
        raise InvalidInputError(f"--out {path}: give one of {', '.join(OUTPUTS)}")
    if suffix == ".npz":
        return atomic_write(path, lambda tmp: _savez(tmp, common, salient))
    if suffix == ".h5ad":
        if samples.adata is None:
            raise InvalidInputError("an .h5ad output needs an .h5ad input to add the codes to")
        adata = add_codes(samples.adata, common, salient)
        return atomic_write(path, lambda tmp: adata.write_h5ad(tmp))
    columns = code_columns(common, salient, samples.ids)
    if suffix == ".parquet":
        return atomic_write(path, lambda tmp: _write_parquet(tmp, columns))
    return write_text(path, _csv_text(columns))


def add_codes(adata: Any, common: np.ndarray, salient: np.ndarray) -> Any:
    """A copy of an AnnData with codes."""
    if len(common) != adata.n_obs:
        raise InvalidInputError(f"{len(common)} codes for an AnnData of {adata.n_obs} cells")
    annotated = adata.copy()
    annotated.obsm[COMMON_KEY], annotated.obsm[SALIENT_KEY] = common, salient
    annotated.obs[SCORE_KEY] = salient_scores(salient).astype(np.float32)
    return annotated


def transform_anndata(
    model: ContrastiveEstimator, adata: Any, layer: str | None = None, normalize: str = "none"
) -> Any:
    """A copy of ``adata`` with ``model``'s codes of its cells.

    A model fitted on cells (AnnData, or an ``anndata-study`` run) prepares them as at fit
    (:mod:`sepclr.data.cells`); any other model reads the expression as it is (or as
    ``normalize`` says), by gene name when it knows its genes' names.

    Parameters
    ----------
    model : ContrastiveEstimator
        A fitted model.
    adata : AnnData
        The cells.
    layer : str, optional
        The layer that holds the expression (``X`` when None).
    normalize : {"none", "log1p"}
        For a model that does not prepare cells itself, the transform its inputs had
        (``log1p`` for a run fitted with ``normalize="log1p"``).

    Returns
    -------
    AnnData
        The copy, with ``obsm["X_sepclr_common"]``, ``obsm["X_sepclr_salient"]`` and the
        salient score in ``obs["sepclr_salient_score"]``.
    """
    if getattr(model, "preparation_", None) is not None:
        return add_codes(adata, *model.transform(adata, layer=layer))
    names = getattr(model, "feature_names_in_", None)
    genes = None if names is None else [str(name) for name in names]
    x = _named(anndata_features(adata, layer, normalize), adata, genes, "the AnnData")
    common, salient = model.transform(x)
    return add_codes(adata, common, salient)


def _savez(path: str, common: np.ndarray, salient: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.savez(
            handle,
            common=common,
            salient=salient,
            salient_score=salient_scores(salient).astype(np.float32),
        )


def _write_parquet(path: str, columns: dict[str, np.ndarray]) -> None:
    pa = optional_module("pyarrow", "tables", "writing Parquet")
    pq = optional_module("pyarrow.parquet", "tables", "writing Parquet")
    pq.write_table(pa.table({k: pa.array(v) for k, v in columns.items()}), path)


def _csv_text(columns: dict[str, np.ndarray]) -> str:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(list(columns))
    writer.writerows(zip(*(v.tolist() for v in columns.values()), strict=True))
    return text.getvalue()
