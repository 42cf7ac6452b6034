"""CelebA (Liu et al., ICCV 2015), aligned version: ``img_align_celeba/*.jpg`` and the 40
binary attributes per image, from ``list_attr_celeba.csv`` (a header ``image_id,<40 names>``)
or the original ``list_attr_celeba.txt`` (a count line, a line of names, then
``<file> <40 values>``). Values are -1 / 1."""

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sepclr.data.locations import find_files
from sepclr.errors import CorruptFileError, DataNotFoundError

CELEBA_HOW_TO_GET = (
    "Get CelebA (aligned): it needs a sign-in, so sepclr does not download it. Put "
    "img_align_celeba/ and list_attr_celeba.csv (or .txt) into $SEPCLR_DATA/celeba or "
    "~/.cache/sepclr/celeba, or pass root=/--data-dir."
)


@dataclass(frozen=True)
class CelebAAttributes:
    """The CelebA attribute table.

    Parameters
    ----------
    images : list of str
        The image file names.
    names : list of str
        The 40 attribute names.
    values : ndarray of int8, shape (n, 40)
        Each image's attributes, -1 or 1.
    """

    images: list[str]
    names: list[str]
    values: np.ndarray

    def column(self, name: str) -> np.ndarray:
        """One attribute of every image."""
        if name not in self.names:
            raise CorruptFileError(f"CelebA attributes have no {name!r}; they are {self.names}")
        return self.values[:, self.names.index(name)]


def _parse(rows: list[list[str]], names: list[str], source: Path) -> CelebAAttributes:
    images, values = [], []
    for number, row in enumerate(rows, start=1):
        if len(row) != len(names) + 1:
            raise CorruptFileError(
                f"{source}: row {number} has {len(row) - 1} values for {len(names)} attributes"
            )
        images.append(row[0])
        try:
            values.append([int(v) for v in row[1:]])
        except ValueError as exc:
            raise CorruptFileError(f"{source}: row {number} is not -1/1 values: {exc}") from exc
    matrix = np.asarray(values, dtype=np.int8).reshape(len(images), len(names))
    if not np.isin(matrix, (-1, 1)).all():
        raise CorruptFileError(f"{source}: attribute values must be -1 or 1")
    return CelebAAttributes(images, names, matrix)


def read_attributes(path: str | Path) -> CelebAAttributes:
    """Parse ``list_attr_celeba.csv`` or ``list_attr_celeba.txt``."""
    path = Path(path)
    lines = path.read_text().splitlines()
    if path.suffix == ".csv":
        rows = list(csv.reader(lines))
        if not rows or rows[0][0] != "image_id":
            raise CorruptFileError(f"{path}: the first column must be 'image_id'")
        return _parse(rows[1:], rows[0][1:], path)
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise CorruptFileError(f"{path}: expected a count line, then the attribute names")
    rows = [line.split() for line in lines[2:] if line.strip()]
    if len(rows) != int(lines[0]):
        raise CorruptFileError(
            f"{path}: the header says {lines[0].strip()} images, found {len(rows)}"
        )
    return _parse(rows, lines[1].split(), path)


def celeba_files(root: str | Path | None = None) -> tuple[Path, CelebAAttributes]:
    """The image folder and the parsed attributes."""
    names = [("list_attr_celeba.csv", "list_attr_celeba.txt")]
    (table,) = find_files("celeba", names, root, CELEBA_HOW_TO_GET)
    images = table.parent / "img_align_celeba"
    if not images.is_dir():
        raise DataNotFoundError(f"{table.parent} has the attributes but no img_align_celeba/")
    return images, read_attributes(table)
