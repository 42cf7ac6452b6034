"""Saving and loading fitted models: weights in safetensors, configuration in JSON.

A model directory holds ``config.json`` (format, library version, class, constructor
parameters, fitted metadata) and ``weights.safetensors``. Each file is written to a temporary
name in the same directory, flushed to disk and renamed (:mod:`sepclr.engine.files`), so an
interrupted save never leaves a half-written file under the final name. Both files carry the
SHA-256 of the tensors, written last into ``config.json``: a save killed between its two
renames leaves files of two saves, which :func:`read_model` refuses instead of mixing them.
Nothing is unpickled on load.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from sepclr._version import __version__
from sepclr.engine.files import atomic_write, write_text
from sepclr.errors import CheckpointError, StorageError

FORMAT = "sepclr-model"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.safetensors"
SAVE_KEY = "weights_sha256"  # in config.json and in the weights' safetensors header


def check_document(document: Any, kind: str, version: int, source: str | Path) -> None:
    """Raise :class:`CheckpointError` unless ``document`` is a ``kind`` document in format
    ``version`` (saying which sepclr wrote it otherwise).
    """
    if not isinstance(document, dict) or document.get("format") != kind:
        raise CheckpointError(f"{source} is not a {kind} file")
    found = document.get("format_version")
    if not isinstance(found, int) or isinstance(found, bool):
        raise CheckpointError(f"{source}: format_version must be a whole number, got {found!r}")
    if found != version:
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
    if directory.exists() and not directory.is_dir():
        raise StorageError(f"cannot save a model into {directory}: it is a file, not a folder")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create {directory}: {exc.strerror or exc}") from exc
    contiguous = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    save_id = _digest(contiguous)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "class": class_name,
        SAVE_KEY: save_id,
        **config,
    }
    text = json.dumps(document, indent=2)
    header = {SAVE_KEY: save_id}
    atomic_write(directory / WEIGHTS_NAME, lambda p: save_file(contiguous, p, metadata=header))
    write_text(directory / CONFIG_NAME, text)
    return directory


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    """The SHA-256 of named tensors: their names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name]
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


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
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{config_path} is not valid JSON ({exc})") from exc
    check_document(config, FORMAT, FORMAT_VERSION, config_path)
    try:
        with safe_open(str(weights_path), framework="pt") as handle:
            header = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights_path} is not a readable safetensors file ({exc})") from exc
    if header.get(SAVE_KEY) != config.get(SAVE_KEY):
        raise CheckpointError(
            f"{directory}: {WEIGHTS_NAME} and {CONFIG_NAME} come from two different saves (a "
            "save was interrupted, or one file was replaced); save the model again"
        )
    return config, tensors
