"""The folder of a ``sepclr fit`` run: what it holds, how a new run claims it, and how its
settings (``run.json``) are read back."""

import json
import shutil
from pathlib import Path
from typing import Any

from sepclr.engine.persistence import CONFIG_NAME, WEIGHTS_NAME
from sepclr.errors import SepCLRError, StorageError

RUN_FILE = "run.json"
CHECKPOINT_DIR = "checkpoint"
SELECTION_FILES = ("selection.md", "selection.json")  # written by `sepclr select`
RESULT_FILES = (
    *SELECTION_FILES,
    "results.json",
    "results.md",
    "spaces.png",
    "scores.png",
    "reconstructions.png",
    "training.png",
    "metrics.csv",
    "tensorboard",
)
RUN_OUTPUTS = (RUN_FILE, CONFIG_NAME, WEIGHTS_NAME, CHECKPOINT_DIR, *RESULT_FILES)
# run.json keys and the type of each
RUN_KEYS: dict[str, type | tuple[type, ...]] = {
    "dataset": str,
    "dataset_options": dict,
    "method": str,
    "params": dict,
    "checkpoint_every": int,
}


def held_outputs(out: Path) -> list[str]:
    """The names of the run outputs ``out`` holds."""
    return [name for name in RUN_OUTPUTS if (out / name).exists()]


def check_new_out(out: Path, overwrite: bool) -> None:
    """Refuse an ``out`` that cannot hold a new run: a file, a folder that cannot be
    written, or a folder with another run's outputs (unless ``overwrite``)."""
    if out.exists() and not out.is_dir():
        raise StorageError(f"--out {out} is a file; give a folder")
    held = held_outputs(out) if out.is_dir() else []
    if held and not overwrite:
        raise SepCLRError(
            f"--out {out} already holds a run ({', '.join(held)}); continue it with "
            f"--resume {out}, or start again with --overwrite"
        )
    existing = next(p for p in (out, *out.absolute().parents) if p.exists())
    if not existing.is_dir() or not _writable(existing):
        raise StorageError(f"cannot write into {existing}; choose another --out")


def _writable(folder: Path) -> bool:
    try:
        probe = folder / ".sepclr-write-test"
        probe.touch()
        probe.unlink()
    except OSError:
        return False
    return True


def claim(out: Path, overwrite: bool) -> bool:
    """Make ``out`` ready for a new run (with ``overwrite``, remove the earlier run's
    outputs; nothing else in the folder is touched); return whether the folder is new."""
    created = not out.exists()
    try:
        for name in held_outputs(out) if overwrite and not created else []:
            path = out / name
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot prepare {out}: {exc.strerror or exc}") from exc
    return created


def read_run(out: Path) -> dict[str, Any]:
    """The settings of the run in ``out``, checked; a missing, truncated or foreign
    ``run.json`` is refused with one line."""
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
