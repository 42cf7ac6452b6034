"""Writing files so that a reader never sees half of one: each file is written under a
temporary name in its own folder, flushed to disk and renamed over the final name. Files get
the permissions of the user's umask, and a write removes the temporary files that killed
writes of the same file left behind."""

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from safetensors import SafetensorError

from sepclr.errors import StorageError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_stale(path: Path) -> None:
    """Delete the temporary files of earlier, interrupted writes of ``path``."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def atomic_write(path: str | Path, write: Callable[[str], Any]) -> Path:
    """Call ``write(temporary_path)`` in ``path``'s folder, flush the file to disk, give it
    the umask's permissions, then rename it to ``path``; readers see the old file or the new
    one, never half of one. A failure (a full disk, a folder that cannot be written) raises
    :class:`sepclr.errors.StorageError` and leaves ``path`` as it was.

    Parameters
    ----------
    path : str or Path
        The file.
    write : callable
        Writes the content into the path it is given.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    try:
        _remove_stale(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError | SafetensorError) and not isinstance(exc, StorageError):
            raise StorageError(f"cannot write {path}: {exc}") from exc
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (:func:`atomic_write`).

    Parameters
    ----------
    path : str or Path
        The file.
    text : str
        Its content.

    Returns
    -------
    Path
        ``path``.
    """
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_json(path: str | Path, document: Any) -> Path:
    """Write ``document`` as indented JSON to ``path`` atomically.

    Parameters
    ----------
    path : str or Path
        The file.
    document : object
        A JSON-serialisable document.

    Returns
    -------
    Path
        ``path``.
    """
    return write_text(path, json.dumps(document, indent=2) + "\n")
