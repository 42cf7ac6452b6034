"""Writing files so that a reader never sees half of one: each file is written inside a
private temporary folder beside it, flushed to disk and renamed over the final name. Files get
the permissions of the user's umask, and a write removes what killed writes of the same file
left behind (a writer's own temporary files included, since they land in that folder)."""

import json
import os
import shutil
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
    """Delete the temporary files and folders of earlier, interrupted writes of ``path``."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def atomic_write(path: str | Path, write: Callable[[str], Any]) -> Path:
    """Call ``write(temporary_path)`` for a path inside a temporary folder beside ``path``,
    flush the file to disk, give it the umask's permissions, then rename it to ``path``;
    readers see the old file or the new one, never half of one. A failure (a full disk, a
    folder that cannot be written) raises :class:`sepclr.errors.StorageError` and leaves
    ``path`` as it was.
    """
    path = Path(path)
    try:
        _remove_stale(path)
        folder = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    tmp = folder / path.name
    try:
        write(str(tmp))
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        if isinstance(exc, OSError | SafetensorError) and not isinstance(exc, StorageError):
            raise StorageError(f"cannot write {path}: {exc}") from exc
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_json(path: str | Path, document: Any) -> Path:
    """Write ``document`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(document, indent=2) + "\n")
