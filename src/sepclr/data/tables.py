"""Tabular and single-cell studies as CA datasets: a table (CSV, TSV or Parquet) with one
row per sample, or an AnnData ``.h5ad`` file (cells x genes), split into background and
target by the value of one column.

Parquet needs ``pyarrow`` and AnnData needs ``anndata`` (``pip install 'sepclr[tables]'`` /
``'sepclr[singlecell]'``). Counts can be library-size normalised and log-transformed
(``normalize="log1p"``: each row scaled to 10,000 counts, then ``log(1 + x)``), the usual
preparation of single-cell data."""

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from sepclr.data.ca_dataset import CADataset, check_split, in_group, split_rows
from sepclr.data.cells import TOP_GENES, cell_matrix, fit_preparation, is_counts
from sepclr.data.folder import repeated_name
from sepclr.data.readers import numbers, read_anndata, read_columns
from sepclr.errors import DataNotFoundError, InvalidInputError, SepCLRWarning

NORMALIZATIONS = ("none", "log1p")
MISSING = ("error", "drop", "mean")
# identifier columns: never features; ``sepclr transform`` copies the first one found
ID_COLUMNS = ("participant_id", "subject_id", "sample_id", "cell_id", "id", "barcode")


def normalize_counts(x: np.ndarray, how: str) -> np.ndarray:
    """``how="log1p"``: rows scaled to a total of 10,000 (rows of zeros left at 0), then
    ``log(1 + x)``; ``"none"``: unchanged.
    """
    if how == "none":
        return x
    if how != "log1p":
        raise InvalidInputError(f"normalize must be one of {NORMALIZATIONS}, got {how!r}")
    if (x < 0).any():
        raise InvalidInputError("normalize='log1p' needs counts (no negative values)")
    if not is_counts(x):
        warnings.warn(
            "normalize='log1p' on values that are not counts (not integers): if they are "
            "already log-normalised they are now transformed twice; normalize='auto' detects it",
            SepCLRWarning,
            stacklevel=2,
        )
    totals = x.sum(axis=1, keepdims=True)
    scaled = np.divide(x * 1e4, totals, out=np.zeros_like(x), where=totals > 0)
    return np.log1p(scaled).astype(np.float32)


def _factor(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Numbers stay numbers (float, no names); anything else becomes 0, 1, ... in sorted
    order, with the text of each class."""
    try:
        return np.asarray(values, dtype=np.float64), []
    except (TypeError, ValueError):
        labels = np.asarray(values).astype(str)
        names = np.unique(labels)
        return np.searchsorted(names, labels).astype(np.int64), [str(n) for n in names]


def _split(
    x: np.ndarray,
    groups: np.ndarray,
    factors: dict[str, np.ndarray],
    background_value: str,
    target_value: str,
    salient: tuple[str, ...],
    split: str,
    test_fraction: float,
    name: str,
) -> CADataset:
    is_target, is_background = in_group(groups, target_value), in_group(groups, background_value)
    known = is_target | is_background
    if not is_target.any() or not is_background.any():
        raise InvalidInputError(
            f"{name}: the group column needs both {background_value!r} and {target_value!r} "
            f"rows; it holds {sorted(set(groups.astype(str).tolist()))[:10]}"
        )
    keep = np.flatnonzero(known)[split_rows(is_target[known], split, test_fraction)]
    target = is_target[keep]
    coded = {f: _factor(v) for f, v in factors.items()}
    values = {f: v[keep] for f, (v, _) in coded.items()}
    for factor, (_, names) in coded.items():
        found = np.unique(values[factor][target])
        if names and len(found) < 2 and split == "train":  # the probes are fitted on it
            raise InvalidInputError(
                f"{name}: the factor {factor!r} takes one value over the {split} split's "
                f"targets ({names[int(found[0])] if len(found) else 'none'}); a probe needs two "
                "or more: leave it out of factors"
            )
    common = [f for f in values if f not in salient]
    return CADataset(
        name=name,
        split=split,
        background=x[keep][~target],
        target=x[keep][target],
        factors={f: v[target] for f, v in values.items()},
        roles={f: "salient" if f in salient else "common" for f in values},
        background_factors={f: values[f][~target] for f in common},
        label_names={f: names for f, (_, names) in coded.items() if names},
    )


def _missing_cells(values: np.ndarray) -> np.ndarray:
    """Which cells of a column are empty or NaN."""
    empty = np.array([cell is None or str(cell).strip() in ("", "nan", "NaN") for cell in values])
    return empty


def _fill_or_drop(
    columns: dict[str, np.ndarray], features: list[str], how: str
) -> dict[str, np.ndarray]:
    """The columns with the rows that miss a feature left out (``drop``), or each missing
    feature cell given its column's mean over the other cells (``mean``)."""
    holes = {c: _missing_cells(columns[c]) for c in features}
    if how == "drop":
        keep = ~np.any(np.stack(list(holes.values())), axis=0)
        return {name: values[keep] for name, values in columns.items()}
    filled = dict(columns)
    for name, hole in holes.items():
        if hole.any():
            known = np.asarray(columns[name][~hole], dtype=np.float64)
            values = np.asarray(columns[name], dtype=object).copy()
            values[hole] = known.mean() if len(known) else np.nan
            filled[name] = values
    return filled


def table_features(
    path: Path,
    columns: dict[str, np.ndarray],
    features: tuple[str, ...] | None,
    other: tuple[str, ...],
    normalize: str,
) -> np.ndarray:
    """The float32 feature matrix of a table read from ``path``: the ``features`` columns,
    or every column but the ``other`` ones (group, factors, identifiers), normalised as
    ``normalize`` says.
    """
    chosen = features or tuple(c for c in columns if c not in other)
    missing = [c for c in chosen if c not in columns]
    if missing:
        raise InvalidInputError(
            f"{path} has no column {missing[0]!r}; its columns are {sorted(columns)}"
        )
    if not chosen:
        raise InvalidInputError(f"{path} has no feature columns beside {', '.join(other)}")
    x = np.stack([numbers(path, c, columns[c]) for c in chosen], axis=1)
    return normalize_counts(x, normalize)


def fitted_order(
    source: str | Path, names: list[str], fitted: list[str], other: tuple[str, ...] = ()
) -> list[int]:
    """Where each feature a model was fitted on is among a new file's ``names``."""
    where = {name: i for i, name in enumerate(names)}
    twice = repeated_name(names)
    missing = [name for name in fitted if name not in where]
    extra = [name for name in names if name not in set(fitted) | set(other)]
    if twice is not None:
        raise InvalidInputError(f"{source} names {twice!r} twice; give every feature its own name")
    if missing:
        raise InvalidInputError(
            f"{source} has no {missing[0]!r}, which the model was fitted on "
            f"({len(missing)} of its {len(fitted)} features are missing)"
        )
    if extra:
        raise InvalidInputError(
            f"{source} has {', '.join(map(repr, extra[:3]))}{', ...' if len(extra) > 3 else ''}, "
            "which the model was not fitted on; drop them (or name the identifier column "
            "with --id-column)"
        )
    return [where[name] for name in fitted]


def table_study_samples(
    path: Path,
    columns: dict[str, np.ndarray],
    options: dict[str, Any],
    ids: tuple[str, ...],
    fitted: list[str] | None = None,
) -> np.ndarray:
    """The features of a table of new samples, as :func:`table_study` with ``options``
    reads its own: the same feature columns, by name, and normalisation.
    """
    known_ids = (c for c in ID_COLUMNS if c in columns)
    other = (str(options["group_column"]), *options["factors"], *ids, *known_ids)
    features = options["features"]
    if features is None and fitted is not None:
        order = fitted_order(path, list(columns), fitted, other)
        features = [list(columns)[i] for i in order]
    return table_features(path, columns, features, other, str(options["normalize"]))


def anndata_features(data: Any, layer: str | None, normalize: str) -> np.ndarray:
    """The dense float32 cells x genes matrix of an AnnData (``X``, or ``layers[layer]``),
    normalised as ``normalize`` says.
    """
    return normalize_counts(cell_matrix(data, layer), normalize)


def table_study(
    split: str = "train",
    root: str | Path | None = None,
    table: str = "data.csv",
    group_column: str = "group",
    background_value: str = "control",
    target_value: str = "treated",
    features: tuple[str, ...] | None = None,
    factors: tuple[str, ...] = (),
    salient: tuple[str, ...] = (),
    normalize: str = "none",
    test_fraction: float = 0.2,
    missing: str = "error",
) -> CADataset:
    """Rows of a table whose ``group_column`` is ``background_value`` or ``target_value``.

    Parameters
    ----------
    table : str
        The file, ``.csv``, ``.tsv`` or ``.parquet``: a path relative to ``root`` (the
        ``--data-dir``) or to the current folder, or an absolute path.
    group_column : str
        The column that tells the groups apart.
    background_value, target_value : str
        Its values for background (e.g. controls) and target (e.g. patients) rows; other
        rows are left out.
    features : str or list of str, optional
        The feature columns (numbers); by default every column but the group, the factors
        and an identifier column (``participant_id``, ``subject_id``, ``sample_id``,
        ``cell_id``, ``id`` or ``barcode``).
    factors : str or list of str
        Labelled columns to probe: numbers stay continuous, text becomes classes.
    salient : str or list of str
        Those of the factors that are salient (found in targets only); the others are
        common.
    test_fraction : float
        The share of each group held out as the test split (seed 0).
    normalize : {"none", "log1p"}
        A transform of the features (``log1p`` for counts).
    missing : {"error", "drop", "mean"}
        What an empty or NaN feature cell does: stop with its column and line, leave its row
        out, or take the mean of the column's other cells. ``sepclr transform`` always
        refuses missing cells.

    Returns
    -------
    CADataset
        The split's background and target samples and their factors.
    """
    check_split(split)
    path = (Path(root) if root is not None else Path.cwd()) / table
    if not path.is_file():
        raise DataNotFoundError(f"table {path} does not exist")
    columns = read_columns(path)
    if group_column in factors:
        raise InvalidInputError(
            f"the group column {group_column!r} cannot be a factor: it is the same for every "
            "target; name other columns in factors"
        )
    for column in (group_column, *factors):
        if column not in columns:
            raise InvalidInputError(
                f"{path} has no column {column!r}; its columns are {sorted(columns)}"
            )
    other = (group_column, *factors, *(c for c in ID_COLUMNS if c in columns))
    if missing not in MISSING:
        raise InvalidInputError(f"missing must be one of {MISSING}, got {missing!r}")
    if missing != "error":
        chosen = features or tuple(c for c in columns if c not in other)
        columns = _fill_or_drop(columns, [c for c in chosen if c in columns], missing)
    x = table_features(path, columns, features, other, normalize)
    data = _split(
        x, np.asarray(columns[group_column]), {f: columns[f] for f in factors},
        background_value, target_value, salient, split, test_fraction, "table-study",
    )  # fmt: skip
    data.feature_names = list(features or (c for c in columns if c not in other))
    return data


def anndata_study(
    split: str = "train",
    root: str | Path | None = None,
    file: str = "data.h5ad",
    group_column: str = "condition",
    background_value: str = "control",
    target_value: str = "treated",
    factors: tuple[str, ...] = (),
    salient: tuple[str, ...] = (),
    normalize: str = "auto",
    layer: str | None = None,
    test_fraction: float = 0.2,
    genes: int = TOP_GENES,
) -> CADataset:
    """Cells of an AnnData file whose ``obs[group_column]`` is ``background_value`` or
    ``target_value``; features are the genes, made dense.

    Parameters
    ----------
    file : str
        The ``.h5ad`` file, relative to ``root`` (the ``--data-dir``) or to the current
        folder, or absolute.
    group_column : str
        The column that tells the groups apart.
    background_value, target_value : str
        Its values for background (e.g. controls) and target (e.g. patients) rows; other
        rows are left out.
    factors : str or list of str
        ``obs`` columns to probe (cell type, batch, dose ...).
    salient : str or list of str
        Those of the factors that are salient (found in targets only); the others are
        common.
    test_fraction : float
        The share of each group held out as the test split (seed 0).
    normalize : {"auto", "log1p", "none"}
        ``auto``, the single-cell recipe (:mod:`sepclr.data.cells`): raw counts are scaled to
        10,000 per cell and log-transformed, log-expression is used as it is, and the
        ``genes`` most variable genes of the train split's cells are kept. ``log1p`` and
        ``none`` keep every gene, with or without that transform of the counts.
    layer : str, optional
        Read ``layers[layer]`` instead of ``X``.
    genes : int
        With ``normalize="auto"``, how many highly variable genes to keep; 0 keeps every
        gene.

    Returns
    -------
    CADataset
        The split's background and target samples and their factors.
    """
    check_split(split)
    if normalize not in ("auto", *NORMALIZATIONS):
        raise InvalidInputError(
            f"normalize must be one of {('auto', *NORMALIZATIONS)}, got {normalize!r}"
        )
    path = (Path(root) if root is not None else Path.cwd()) / file
    data = read_anndata(path)
    for column in (group_column, *factors):
        if column not in data.obs.columns:
            raise InvalidInputError(
                f"{path}: obs has no column {column!r}; it has {sorted(data.obs.columns)}"
            )
    names = [str(name) for name in data.var_names]
    twice = repeated_name(names)
    if twice is not None:
        raise InvalidInputError(
            f"{path} names the gene {twice!r} twice; make the names unique "
            "(adata.var_names_make_unique()) and save it again"
        )
    obs = data.obs
    groups = obs[group_column].to_numpy()
    preparation = None
    if normalize == "auto":
        x = anndata_features(data, layer, "none")
        is_target = in_group(groups, target_value)
        known = np.flatnonzero(is_target | in_group(groups, background_value))
        train = known[split_rows(is_target[known], "train", test_fraction)]
        preparation = fit_preparation(x[train], names, genes, str(path))
        x = preparation.apply(x, names, str(path))
    else:
        x = anndata_features(data, layer, normalize)
    cells = _split(
        x, groups, {f: obs[f].to_numpy() for f in factors},
        background_value, target_value, salient, split, test_fraction, "anndata-study",
    )  # fmt: skip
    cells.feature_names = list(preparation.selected) if preparation else names
    cells.preparation = preparation
    return cells
