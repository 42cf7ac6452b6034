"""A generic labelled image set: a folder of image files and a table (CSV, or TSV for a
``.tsv`` file) with a header, one row per image, one column holding each image's path
relative to the folder. The layout of CheXpert (``train.csv`` with a ``Path`` column) and of
ODIR-5K exports (a ``filename`` column); other medical sets fit it too."""

import csv
from dataclasses import dataclass
from pathlib import Path

from sepclr.errors import CorruptFileError, DataNotFoundError, InvalidInputError


@dataclass(frozen=True)
class LabelledFolder:
    """Images listed in a table.

    Parameters
    ----------
    paths : list of Path
        Each image's file.
    columns : dict of str to list of str
        The table's columns, one string per image, in table order.
    """

    paths: list[Path]
    columns: dict[str, list[str]]

    def column(self, name: str) -> list[str]:
        """One column of the table."""
        if name not in self.columns:
            raise InvalidInputError(
                f"the table has no column {name!r}; its columns are {sorted(self.columns)}"
            )
        return self.columns[name]


def read_table(path: str | Path) -> dict[str, list[str]]:
    """A CSV (or ``.tsv``) table with a header, as columns of strings (UTF-8, with or
    without a byte-order mark).
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"table {path} does not exist")
    delimiter = "\t" if path.suffix == ".tsv" else ","
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:  # a leading BOM dropped
            rows = list(csv.reader(handle, delimiter=delimiter))
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"{path} is not a UTF-8 text table: {exc}") from exc
    if not rows or not all(rows[0]):
        raise CorruptFileError(f"{path}: the first line must name every column")
    header = rows[0]
    twice = repeated_name(header)
    if twice is not None:
        raise CorruptFileError(
            f"{path}: the header names column {twice!r} twice; give every column its own name"
        )
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise CorruptFileError(
                f"{path}: line {number} has {len(row)} fields, the header {len(header)}"
            )
    return {name: [row[i] for row in rows[1:]] for i, name in enumerate(header)}


def repeated_name(names: list[str]) -> str | None:
    """The first name that appears twice in ``names``, if any."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def labelled_folder(folder: str | Path, table: str | Path, path_column: str) -> LabelledFolder:
    """Read ``table`` and resolve ``path_column`` against ``folder``; every listed image must
    exist (the error names the first missing ones).
    """
    columns = read_table(table)
    if path_column not in columns:
        raise InvalidInputError(
            f"{table} has no column {path_column!r} of image paths; its columns are "
            f"{sorted(columns)}"
        )
    paths = [Path(folder) / relative for relative in columns[path_column]]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataNotFoundError(
            f"{len(missing)} image(s) listed in {table} are missing, e.g. {missing[:3]}"
        )
    return LabelledFolder(paths, columns)
