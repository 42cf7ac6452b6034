"""A neuroimaging study as a CA dataset: NIfTI volumes listed in a BIDS-like participants
table (a TSV or CSV with one row per subject: an id, the group, covariates such as age, sex,
site, clinical scores, and the path of the subject's volume).

Volumes are read one at a time through nibabel's lazy data proxy, resampled to a small grid
(trilinear), scaled to [0, 1] by their 99.5th percentile, and cached as ``.npy`` files keyed
by the file's path, size, modification time and the grid, so a second load reads only the
small arrays. nibabel is an optional dependency (``pip install 'sepclr[volumes]'``)."""

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sepclr.data.ca_dataset import CADataset, check_split, in_group, split_rows
from sepclr.data.folder import read_table
from sepclr.data.readers import optional_module
from sepclr.errors import CorruptFileError, DataNotFoundError, InvalidInputError


def _nibabel() -> Any:
    return optional_module("nibabel", "volumes", "reading NIfTI volumes")


def read_volume(path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    """One NIfTI volume as float32 (1, *shape) in [0, 1]."""
    nibabel = _nibabel()
    try:
        proxy = nibabel.load(str(path))
        data = np.asarray(proxy.dataobj, dtype=np.float32)
    except Exception as exc:  # nibabel raises many kinds for a bad file
        raise CorruptFileError(f"{path} is not a readable NIfTI volume: {exc}") from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3 or not np.isfinite(data).all():
        raise CorruptFileError(f"{path}: expected a finite 3-D volume, got shape {data.shape}")
    tensor = torch.from_numpy(data)[None, None]
    resampled = F.interpolate(tensor, size=shape, mode="trilinear", align_corners=False)[0]
    top = float(torch.quantile(resampled.flatten(), 0.995))
    return (resampled / top if top > 0 else resampled).clamp(0.0, 1.0).numpy()


def _cached(path: Path, shape: tuple[int, int, int], cache: Path | None) -> np.ndarray:
    if cache is None:
        return read_volume(path, shape)
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{shape}".encode())
    cached = cache / f"{key.hexdigest()[:32]}.npy"
    if cached.is_file():
        return np.load(cached, allow_pickle=False)
    volume = read_volume(path, shape)
    cache.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".tmp.npy")
    np.save(partial, volume, allow_pickle=False)
    partial.replace(cached)
    return volume


def load_volumes(paths: list[Path], shape: tuple[int, int, int], cache: Path | None) -> np.ndarray:
    """The NIfTI files ``paths`` resampled to ``shape``, float32 (n, 1, *shape); resampled
    volumes are kept under ``cache`` when it is given.
    """
    return np.stack([_cached(path, shape, cache) for path in paths])


def nifti_study_samples(
    path: Path, columns: dict[str, np.ndarray], options: dict[str, Any], *_: Any
) -> np.ndarray:
    """The volumes a table of new samples lists (paths relative to the table), resampled as
    :func:`nifti_study` with ``options`` resamples its own.
    """
    paths = [path.parent / str(p) for p in columns[str(options["path_column"])]]
    shape = tuple(int(v) for v in options["shape"])
    return load_volumes(paths, (shape[0], shape[1], shape[2]), None)


def nifti_study(
    split: str = "train",
    root: str | Path | None = None,
    table: str = "participants.tsv",
    group_column: str = "group",
    background_value: str = "control",
    target_value: str = "patient",
    path_column: str = "path",
    continuous: tuple[str, ...] = ("age",),
    categorical: tuple[str, ...] = ("sex", "site"),
    salient: tuple[str, ...] = (),
    shape: tuple[int, int, int] = (32, 32, 32),
    test_fraction: float = 0.2,
    cache: bool = True,
) -> CADataset:
    """Background (``group_column == background_value``) and target subjects of a NIfTI
    study listed in a participants table; volumes are float32 (n, 1, *shape).

    Parameters
    ----------
    table : str
        The participants table (TSV or CSV), relative to ``root`` (the ``--data-dir``) or
        to the current folder, or absolute; volume paths are relative to its folder.
    group_column : str
        The column that tells the groups apart.
    background_value, target_value : str
        Its values for background (e.g. controls) and target (e.g. patients) rows; other
        rows are left out.
    path_column : str
        The column with each subject's NIfTI file.
    continuous : str or list of str
        Numeric covariates to probe (empty or ``n/a`` cells are missing values).
    categorical : str or list of str
        Categorical covariates (categories become 0, 1, ... in sorted order).
    salient : str or list of str
        Those of the factors that are salient (found in targets only); the others are
        common.
    test_fraction : float
        The share of each group held out as the test split (seed 0, stratified by group).
    shape : list of 3 int
        The grid every volume is resampled to.
    cache : bool
        Keep resampled volumes under ``root/.sepclr-cache``.

    Returns
    -------
    CADataset
        The split's background and target samples and their factors.
    """
    check_split(split)
    base = Path(root) if root is not None else Path.cwd()
    table_path = base / table
    columns = read_table(table_path)
    _check_table(table_path, columns, (group_column, path_column, *continuous, *categorical))
    groups = np.asarray(columns[group_column])
    for value in (background_value, target_value):
        if not in_group(groups, value).any():
            raise InvalidInputError(
                f"{table_path}: column {group_column!r} needs both {background_value!r} and "
                f"{target_value!r} rows; it holds {sorted(set(groups.astype(str).tolist()))}"
            )
    rows = np.flatnonzero(in_group(groups, background_value) | in_group(groups, target_value))
    paths = _listed_paths(table_path, [columns[path_column][i] for i in rows])
    is_target = in_group(groups[rows], target_value)
    keep = split_rows(is_target, split, test_fraction)
    cache_dir = base / ".sepclr-cache" if cache else None
    grid = (int(shape[0]), int(shape[1]), int(shape[2]))
    volumes = load_volumes([paths[i] for i in np.flatnonzero(keep)], grid, cache_dir)
    values = _covariates(columns, rows[keep], continuous, categorical)
    dataset = _study(split, volumes, is_target[keep], values, salient, target_value)
    dataset.label_names = {name: sorted(set(columns[name])) for name in categorical}
    return dataset


def _check_table(table_path: Path, columns: dict[str, list[str]], needed: tuple) -> None:
    """Refuse a participants table without one of the ``needed`` columns."""
    for column in needed:
        if column not in columns:
            raise InvalidInputError(
                f"{table_path} has no column {column!r}; its columns are {sorted(columns)}"
            )


def _listed_paths(table_path: Path, names: list[str]) -> list[Path]:
    """The volumes a participants table lists (relative to its folder); missing ones are
    refused, naming a few."""
    paths = [table_path.parent / name for name in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataNotFoundError(
            f"{len(missing)} volume(s) listed in {table_path} are missing, e.g. {missing[:3]}"
        )
    return paths


def _covariates(
    columns: dict[str, list[str]],
    rows: np.ndarray,
    continuous: tuple[str, ...],
    categorical: tuple[str, ...],
) -> dict[str, np.ndarray]:
    """The covariates of ``rows``: numbers (empty or ``n/a`` cells as NaN) and categories
    as 0, 1, ... in sorted order."""
    values: dict[str, np.ndarray] = {}
    for name in continuous:
        cells = [columns[name][i].strip() for i in rows]
        values[name] = np.array([np.nan if c in ("", "n/a") else float(c) for c in cells])
    for name in categorical:
        labels = np.asarray([columns[name][i] for i in rows])
        values[name] = np.searchsorted(np.unique(columns[name]), labels).astype(np.int64)
    return values


def _study(
    split: str,
    volumes: np.ndarray,
    target: np.ndarray,
    values: dict[str, np.ndarray],
    salient: tuple[str, ...],
    target_value: str,
) -> CADataset:
    """The study's dataset; a missing salient factor of a target or a missing covariate
    is refused."""
    for name in salient:
        if np.isnan(values[name][target]).any():
            raise InvalidInputError(
                f"salient factor {name!r} is missing for some {target_value} rows"
            )
    factors = {name: v[target] for name, v in values.items()}
    common = [name for name in values if name not in salient]
    for name in common:
        if np.isnan(values[name].astype(float)).any():
            raise InvalidInputError(f"covariate {name!r} is missing for some subjects")
    return CADataset(
        name="nifti-study",
        split=split,
        background=volumes[~target],
        target=volumes[target],
        factors=factors,
        roles={name: "salient" if name in salient else "common" for name in values},
        background_factors={name: values[name][~target] for name in common},
    )
