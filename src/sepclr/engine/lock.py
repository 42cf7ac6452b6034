"""An exclusive lock on a folder, held by one process at a time: an operating-system file lock
(``flock``) on a hidden file in the folder, which the kernel releases when the process ends,
however it ends. The file names the holder, so that the process refused can say who has it.
Windows has no ``flock``: there, folders are not locked."""

import os
import sys
from pathlib import Path

from sepclr.errors import FolderInUseError, StorageError

if sys.platform != "win32":
    import fcntl

LOCK_NAME = ".sepclr.lock"


class FolderLock:
    """``with FolderLock(folder):`` holds ``folder`` (which must exist) for this process.

    Parameters
    ----------
    folder : Path
        The folder.

    Raises
    ------
    FolderInUseError
        On entering, when another process holds the folder; the message names it.
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> "FolderLock":
        if sys.platform == "win32":
            return self
        for _ in range(10):  # the holder may remove the file between our open and our lock
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise FolderInUseError(
                    f"{self.path.parent} is in use by {holder}; wait for it to end, or choose "
                    "another folder"
                ) from None
            if _same_file(fd, self.path):
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()} {_command()}\n".encode())
                self._fd = fd
                return self
            os.close(fd)
        raise StorageError(f"cannot lock {self.path.parent}: its lock file keeps changing")

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot lock {self.path.parent}: {exc.strerror or exc}") from exc

    def __exit__(self, *exc: object) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)  # while still held: a waiting process retries
        os.close(self._fd)
        self._fd = None


def _command() -> str:
    """This process's command line, shortened."""
    words = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else ["python"]
    text = " ".join(words)
    return text if len(text) <= 200 else text[:197] + "..."


def _read_holder(fd: int) -> str:
    """The process that wrote the lock file, as ``process PID (COMMAND)``."""
    text = os.pread(fd, 4096, 0).decode(errors="replace").strip()
    pid, _, command = text.partition(" ")
    if not pid.isdigit():
        return "another process"
    return f"process {pid}" + (f" ({command})" if command else "")


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False
