"""The files users bring, opened in one place: arrays (``.npy``), tables (CSV, TSV,
Parquet) and AnnData (``.h5ad``).

Each reader relies on its library's own checks (numpy's format header, pyarrow's footer,
h5py's file signature) and turns what they raise into one line that names the file and says
what to do. Table cells are read as numbers column by column, so that an empty cell, text or
a value beyond float32 is reported with its column and line. Arrays then go through
:func:`sepclr.methods.validation.as_sample_tensor`, the gate for dtypes and shapes.
"""

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sepclr.data.folder import read_table, repeated_name
from sepclr.errors import CorruptFileError, DataNotFoundError, InvalidInputError

FLOAT32_MAX = float(np.finfo(np.float32).max)

# How a dataset of users' files reads a table of new samples as it reads its own, by dataset:
# ``reader(path, columns, options, ids, fitted)`` (see ``sepclr.data.tables.table_study_samples``)
SAMPLE_READERS: dict[str, Callable[..., np.ndarray]] = {}


def optional_module(name: str, extra: str, purpose: str) -> Any:
    """The module ``name``, or one line saying that ``purpose`` needs the ``extra``."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        package = name.split(".")[0]
        raise InvalidInputError(
            f"{purpose} needs {package}: pip install 'sepclr[{extra}]'"
        ) from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def read_npy(path: Path) -> np.ndarray:
    """The array of a ``.npy`` file; nothing is unpickled."""
    with open(path, "rb") as handle:
        try:
            np.lib.format.read_magic(handle)
        except ValueError:
            raise CorruptFileError(
                f"{path} is not a .npy file (it does not start with numpy's header); save "
                "arrays with numpy.save"
            ) from None
        handle.seek(0)
        try:
            return np.lib.format.read_array(handle, allow_pickle=False)
        except ValueError as exc:
            if "allow_pickle" in str(exc):
                raise CorruptFileError(
                    f"{path} holds Python objects, not numbers (sepclr never unpickles); save "
                    "a numeric array"
                ) from None
            raise CorruptFileError(
                f"{path} is not a readable .npy array ({_first_line(exc)}); it may be truncated"
            ) from None


def read_columns(path: Path) -> dict[str, np.ndarray]:
    """The columns of a CSV, TSV or Parquet table, by name."""
    if path.suffix.lower() != ".parquet":
        return {name: np.asarray(values) for name, values in read_table(path).items()}
    pa = optional_module("pyarrow", "tables", "reading Parquet")
    pq = optional_module("pyarrow.parquet", "tables", "reading Parquet")
    if not path.is_file():
        raise DataNotFoundError(f"table {path} does not exist")
    try:
        names = pq.read_schema(path).names
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CorruptFileError(
            f"{path} is not a readable Parquet file ({_first_line(exc)})"
        ) from None
    twice = repeated_name(names)
    if twice is not None:
        raise CorruptFileError(
            f"{path} names column {twice!r} twice; give every column its own name"
        )
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CorruptFileError(
            f"{path} is not a readable Parquet file ({_first_line(exc)})"
        ) from None
    return {name: table.column(name).to_numpy() for name in table.column_names}


def read_anndata(path: Path) -> Any:
    """An ``.h5ad`` file as an AnnData (needs ``anndata``)."""
    anndata = optional_module("anndata", "singlecell", "reading .h5ad")
    if not path.is_file():
        raise DataNotFoundError(f"AnnData file {path} does not exist")
    try:
        return anndata.read_h5ad(path)
    except Exception as exc:  # h5py and anndata raise many kinds for a foreign file
        raise CorruptFileError(
            f"{path} is not a readable .h5ad file ({_first_line(exc)})"
        ) from None


def numbers(path: Path, name: str, values: np.ndarray) -> np.ndarray:
    """A table column as float32, every cell a finite number in float32's range."""
    try:
        wide = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        wide = None
    bad = _first_bad_cell(values, wide)
    if bad is None:
        assert wide is not None
        return wide.astype(np.float32)
    row, problem = bad
    where = f"row {row + 1}" if path.suffix.lower() == ".parquet" else f"line {row + 2}"
    raise InvalidInputError(f"{path}: column {name!r}, {where}: {problem}")


_MISSING_HINT = (
    "fill it (at fit, a table-study can also drop or fill such rows: --dataset-option "
    "missing=drop or missing=mean)"
)


def _first_bad_cell(values: np.ndarray, wide: np.ndarray | None) -> tuple[int, str] | None:
    """The first cell that is no usable number, and what is wrong with it."""
    if wide is None:
        for row, cell in enumerate(values):
            try:
                float(cell)
            except (TypeError, ValueError):
                text = "" if cell is None else str(cell).strip()
                if not text:
                    return row, f"an empty cell; {_MISSING_HINT}"
                return row, f"{text[:30]!r} is not a number; feature columns must hold numbers"
        raise AssertionError("no cell failed to convert")
    if not np.isfinite(wide).all():
        row = int(np.flatnonzero(~np.isfinite(wide))[0])
        if np.isnan(wide[row]):
            return row, f"a missing value (NaN); {_MISSING_HINT}"
        return row, f"{wide[row]} is not finite"
    if (np.abs(wide) > FLOAT32_MAX).any():
        row = int(np.flatnonzero(np.abs(wide) > FLOAT32_MAX)[0])
        return row, f"{wide[row]:.3g} is beyond the float32 range (about 3.4e38); rescale it"
    return None
