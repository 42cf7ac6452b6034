"""Saving and loading fitted models: weights in safetensors, configuration in JSON.

A model directory holds ``config.json`` (format, library version, class, constructor
parameters, fitted metadata) and ``weights.safetensors``. Each file is written to a temporary
name in the same directory, flushed to disk and renamed, so an interrupted save never leaves a
half-written file under the final name. Nothing is unpickled on load.
"""

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from sepclr._version import __version__
from sepclr.errors import CheckpointError

FORMAT = "sepclr-model"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.safetensors"


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(temporary_path)`` in ``path``'s directory, flush the file to disk, then
    rename it to ``path``: readers see the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_document(document: Any, kind: str, version: int, source: str | Path) -> None:
    """Raise :class:`CheckpointError` unless ``document`` is a ``kind`` document in format
    ``version`` (saying which sepclr wrote it otherwise)."""
    if not isinstance(document, dict) or document.get("format") != kind:
        raise CheckpointError(f"{source} is not a {kind} file")
    if document.get("format_version") != version:
        raise CheckpointError(
            f"{source} was written in {kind} format {document.get('format_version')} by sepclr "
            f"{document.get('library_version')}; this sepclr ({__version__}) reads format "
            f"{version}. Load it with the version that wrote it."
        )


def save_model(
    directory: str | Path, class_name: str, config: dict[str, Any], tensors: dict[str, torch.Tensor]
) -> Path:
    """Write ``tensors`` and ``config`` (JSON-serialisable) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "class": class_name,
        **config,
    }
    text = json.dumps(document, indent=2)
    contiguous = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    atomic_write(directory / WEIGHTS_NAME, lambda p: save_file(contiguous, p))
    atomic_write(directory / CONFIG_NAME, lambda p: Path(p).write_text(text))
    return directory


def read_model(directory: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read a model directory; raises :class:`CheckpointError` saying what is wrong."""
    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    for path in (config_path, weights_path):
        if not path.is_file():
            raise CheckpointError(
                f"{directory} is not a saved sepclr model: {path.name} is missing"
            )
    try:
        config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{config_path} is not valid JSON ({exc})") from exc
    check_document(config, FORMAT, FORMAT_VERSION, config_path)
    try:
        tensors = load_file(weights_path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights_path} is not a readable safetensors file ({exc})") from exc
    return config, tensors
