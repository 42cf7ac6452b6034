"""Contrastive-analysis methods sharing one contract: fit(background, target),
transform(x) -> (common, salient), save(directory), load(directory)."""

from pathlib import Path

from sepclr.engine.persistence import read_model
from sepclr.errors import CheckpointError
from sepclr.methods.base import ContrastiveEstimator
from sepclr.methods.cpca import CPCA
from sepclr.methods.sepclr import SepCLR
from sepclr.methods.vae import CVAE, MMCVAE, ConVAE, SepVAE

METHODS: dict[str, type[ContrastiveEstimator]] = {
    cls.__name__: cls for cls in (SepCLR, CPCA, CVAE, ConVAE, MMCVAE, SepVAE)
}


def load(directory: str | Path) -> ContrastiveEstimator:
    """Load any saved sepclr model; its class is read from the directory's config.json."""
    config, tensors = read_model(directory)
    name = config.get("class")
    if name not in METHODS:
        raise CheckpointError(
            f"{directory} holds a model of class {name!r}, unknown to this sepclr; "
            f"known: {sorted(METHODS)}"
        )
    return METHODS[name]._restore(config, tensors, directory)


__all__ = [
    "CPCA",
    "CVAE",
    "METHODS",
    "MMCVAE",
    "ConVAE",
    "ContrastiveEstimator",
    "SepCLR",
    "SepVAE",
    "load",
]
