"""Where dataset files are looked for: explicit root, then ``$SEPCLR_DATA``, then
``~/.cache/sepclr``, then the Debian data path."""

import os
from collections.abc import Sequence
from pathlib import Path

from sepclr.errors import DataNotFoundError

DEBIAN_DATA = Path("/usr/share/datasets")


def search_roots(root: str | Path | None = None) -> list[Path]:
    """The folders searched for a dataset's files, in order."""
    roots: list[Path] = []
    if root is not None:
        roots.append(Path(root).expanduser())
    if os.environ.get("SEPCLR_DATA"):
        roots.append(Path(os.environ["SEPCLR_DATA"]).expanduser())
    roots.append(Path.home() / ".cache" / "sepclr")
    roots.append(DEBIAN_DATA)
    return roots


def find_files(
    folder: str, names: Sequence[Sequence[str]], root: str | Path | None, how_to_get: str
) -> list[Path]:
    """Find a dataset's files.

    Each search root is tried as ``root/folder`` and then ``root`` itself; the first folder
    holding every file wins.
    """
    tried: list[Path] = []
    for base in search_roots(root):
        for directory in (base / folder, base):
            tried.append(directory)
            found = [
                next((directory / n for n in alts if (directory / n).is_file()), None)
                for alts in names
            ]
            if all(p is not None for p in found):
                return [p for p in found if p is not None]
            if root is not None and base == Path(root).expanduser() and any(found):
                missing = [alts[0] for alts, p in zip(names, found, strict=True) if p is None]
                raise DataNotFoundError(
                    f"{directory} holds only some of the {folder} files: "
                    f"{', '.join(missing)} missing. {how_to_get}"
                )
    wanted = ", ".join(alts[0] for alts in names)
    places = ", ".join(str(p) for p in tried)
    raise DataNotFoundError(
        f"{folder} files ({wanted}) not found; looked in {places}. {how_to_get}"
    )
