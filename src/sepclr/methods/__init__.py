"""Contrastive-analysis methods sharing one contract: fit(background, target),
transform(x) -> (common, salient), save(directory), load(directory)."""

from pathlib import Path
from typing import Any

from sepclr.engine.persistence import read_model
from sepclr.errors import CheckpointError
from sepclr.methods.sepclr import SepCLR

METHODS: dict[str, Any] = {"SepCLR": SepCLR}


def load(directory: str | Path) -> Any:
    """Load any saved sepclr model; its class is read from the directory's config.json."""
    config, tensors = read_model(directory)
    name = config.get("class")
    if name not in METHODS:
        raise CheckpointError(
            f"{directory} holds a model of class {name!r}, unknown to this sepclr; "
            f"known: {sorted(METHODS)}"
        )
    return METHODS[name]._restore(config, tensors, directory)


__all__ = ["METHODS", "SepCLR", "load"]
