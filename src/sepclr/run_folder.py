"""The folder of a run: the names of what ``sepclr fit`` and ``sepclr select`` write there,
its ``run.json``, and :class:`RunFolder`, which holds the folder for one command.

While a command holds a folder, no other process can (:class:`sepclr.engine.lock.FolderLock`).
A new run replaces an earlier one only with ``overwrite``: the earlier outputs are first moved
aside, all or none, into ``.sepclr-replaced/``; they are deleted once the new model is saved,
and put back if the new run fails before its first checkpoint. A run that never reached its
first checkpoint (a ``run.json`` and nothing else) does not block its folder.
"""

import contextlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from sepclr.engine.checkpoint import CHECKPOINT_NAME
from sepclr.engine.lock import FolderLock
from sepclr.engine.persistence import CONFIG_NAME, WEIGHTS_NAME
from sepclr.errors import SepCLRError, SepCLRWarning, StorageError
from sepclr.run_log import METRICS_FILE, TENSORBOARD_DIR

RUN_FILE = "run.json"
CHECKPOINT_DIR = "checkpoint"
RESULTS_JSON, RESULTS_MD = "results.json", "results.md"
SELECTION_MD, SELECTION_JSON = "selection.md", "selection.json"
SCORES_PLOT, SPACES_PLOT = "scores.png", "spaces.png"
RECONSTRUCTIONS_PLOT, TRAINING_PLOT = "reconstructions.png", "training.png"
UMAP_PLOT = "umap.png"
RESULT_FILES = (
    SELECTION_MD,
    SELECTION_JSON,
    RESULTS_JSON,
    RESULTS_MD,
    SPACES_PLOT,
    SCORES_PLOT,
    RECONSTRUCTIONS_PLOT,
    TRAINING_PLOT,
    UMAP_PLOT,
    METRICS_FILE,
    TENSORBOARD_DIR,
)
RUN_OUTPUTS = (RUN_FILE, CONFIG_NAME, WEIGHTS_NAME, CHECKPOINT_DIR, *RESULT_FILES)
REPLACED_DIR = ".sepclr-replaced"
# run.json keys and the type of each
RUN_KEYS: dict[str, type | tuple[type, ...]] = {
    "dataset": str,
    "dataset_options": dict,
    "method": str,
    "params": dict,
    "checkpoint_every": int,
}


def held_outputs(out: Path) -> list[str]:
    """The run outputs a folder holds."""
    return [name for name in RUN_OUTPUTS if os.path.lexists(out / name)]


def has_checkpoint(out: Path) -> bool:
    """Whether a run wrote a checkpoint."""
    return (out / CHECKPOINT_DIR / CHECKPOINT_NAME).is_file()


def _started(out: Path) -> bool:
    """Whether the run in ``out`` got as far as a checkpoint or a saved model."""
    return has_checkpoint(out) or os.path.lexists(out / CONFIG_NAME)


def check_new_out(out: str | Path, overwrite: bool) -> None:
    """Refuse a folder that cannot hold a new run."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StorageError(f"--out {out} is a file; give a folder")
    held = held_outputs(out) if out.is_dir() else []
    if held and _started(out) and not overwrite:
        raise SepCLRError(
            f"--out {out} already holds a run ({', '.join(held)}); continue it with "
            f"--resume {out}, or start again with --overwrite"
        )
    existing = next(p for p in (out, *out.absolute().parents) if p.exists())
    if not existing.is_dir() or not writable(existing):
        raise StorageError(f"cannot write into {existing}; choose another --out")


def writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder``."""
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".sepclr-write-test"):
            return True
    except OSError:
        return False


def read_run(out: str | Path) -> dict[str, Any]:
    """The settings of the run in ``out``, checked.

    Parameters
    ----------
    out : str or Path
        The run folder.

    Returns
    -------
    dict
        The document of its ``run.json``.

    Raises
    ------
    SepCLRError
        In one line, for a missing, truncated or foreign ``run.json``.
    """
    out = Path(out)
    path = out / RUN_FILE
    if not path.is_file():
        raise SepCLRError(f"{path} is missing; is {out} a folder written by `sepclr fit`?")
    try:
        run = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise SepCLRError(f"{path} is not a readable run file ({exc})") from exc
    if not isinstance(run, dict):
        raise SepCLRError(f"{path} is not a run file: it holds no settings object")
    for key, kind in RUN_KEYS.items():
        if not isinstance(run.get(key), kind) or isinstance(run.get(key), bool):
            raise SepCLRError(
                f"{path} has no valid {key!r}; it was not written by this sepclr's `fit`"
            )
    return run


class RunFolder:
    """``with RunFolder(out, new=...)``: the folder of a run, held by this process.

    Entering creates the folder if needed and locks it. For a new run it removes what a run
    that never reached its first checkpoint left (putting back the run that one replaced),
    then refuses a folder that holds a run, unless ``overwrite``: the old outputs are then
    moved aside. Leaving, it deletes the replaced outputs once the folder holds a saved model;
    when a new run failed before its first checkpoint, it removes what that run wrote and puts
    the old outputs back (a folder it created is removed).

    Parameters
    ----------
    out : str or Path
        The folder.
    new : bool
        Whether a new run starts there (False: a run is resumed or evaluated).
    overwrite : bool
        Whether a new run may replace the run already there.
    """

    def __init__(self, out: str | Path, *, new: bool, overwrite: bool = False) -> None:
        self.out = Path(out)
        self.new = new
        self.overwrite = overwrite
        self.created = False
        self._lock = FolderLock(self.out)

    @property
    def _aside(self) -> Path:
        return self.out / REPLACED_DIR

    def __enter__(self) -> "RunFolder":
        if self.new:
            check_new_out(self.out, self.overwrite)
        self.created = not self.out.exists()
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {self.out}: {exc.strerror or exc}") from exc
        try:
            self._lock.__enter__()
        except BaseException:
            if self.created:  # another process may have created it too: only if empty
                with contextlib.suppress(OSError):
                    self.out.rmdir()
            raise
        try:
            if self.new:
                self._recover()
                check_new_out(self.out, self.overwrite)  # again, now that no one else can write
                self._set_aside()
        except BaseException:
            self._remove_if_created()  # while still held
            self._lock.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, kind: object, value: BaseException | None, traceback: object) -> None:
        try:
            if os.path.lexists(self.out / CONFIG_NAME):
                self._drop_aside()
            elif self.new and value is not None:
                self._recover()
        finally:
            self._remove_if_created()  # while still held
            self._lock.__exit__(kind, value, traceback)

    def _recover(self) -> None:
        """Remove what a run that never reached its first checkpoint left, and put back the
        run it was replacing, if any."""
        if _started(self.out):
            return
        for name in held_outputs(self.out):
            _remove(self.out / name)
        if os.path.lexists(self._aside):
            self._put_back(sorted(os.listdir(self._aside)))

    def _set_aside(self) -> None:
        """Move an earlier run's outputs aside, all or none."""
        held = held_outputs(self.out)
        if not held:
            return
        if os.path.lexists(self._aside):  # a replaced run whose replacement never finished
            _remove(self._aside)
        self._aside.mkdir()
        moved: list[str] = []
        try:
            for name in held:
                os.rename(self.out / name, self._aside / name)
                moved.append(name)
        except OSError as exc:
            self._put_back(moved)
            raise StorageError(
                f"cannot replace the run in {self.out}: {name} cannot be moved "
                f"({exc.strerror or exc}); nothing was changed"
            ) from exc

    def _put_back(self, names: list[str]) -> None:
        for name in names:
            os.rename(self._aside / name, self.out / name)
        self._aside.rmdir()

    def _drop_aside(self) -> None:
        if not os.path.lexists(self._aside):
            return
        try:
            _remove(self._aside)
        except StorageError as exc:
            warnings.warn(
                f"the replaced run's files could not all be deleted ({exc}); they are in "
                f"{self._aside}",
                SepCLRWarning,
                stacklevel=2,
            )

    def _remove_if_created(self) -> None:
        if self.created and self.out.is_dir() and not _started(self.out):
            shutil.rmtree(self.out, ignore_errors=True)


def _remove(path: Path) -> None:
    """Delete a file, a link (not what it points to) or a folder."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot delete {path}: {exc.strerror or exc}") from exc
