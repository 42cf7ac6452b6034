"""Contrastive-analysis methods sharing one contract: fit(background, target),
transform(x) -> (common, salient), save(directory), load(directory). Each registers itself
in :data:`sepclr.registry.METHODS` when its module is imported; every module of this
package is imported here, so a new method is one new module (and its tests)."""

import sys
from pathlib import Path

from sepclr.engine.persistence import read_model
from sepclr.errors import CheckpointError
from sepclr.methods.base import ContrastiveEstimator, TrainedEstimator
from sepclr.methods.cpca import CPCA
from sepclr.methods.sepclr import SepCLR
from sepclr.methods.transformer import ContrastiveTransformer
from sepclr.methods.vae import CVAE, MMCVAE, ConVAE, SepVAE
from sepclr.registry import METHODS, import_every_module, method_by_class

import_every_module(sys.modules[__name__])


def load(directory: str | Path) -> ContrastiveEstimator:
    """Load any saved sepclr model; its class is read from the folder's ``config.json``.

    Parameters
    ----------
    directory : str or Path
        A folder written by a model's ``save`` (or by ``sepclr fit``).

    Returns
    -------
    ContrastiveEstimator
        The fitted model, of the class it was saved with.

    Raises
    ------
    CheckpointError
        For a missing, damaged or foreign folder, or a class this sepclr does not know.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import sepclr
    >>> rng = np.random.default_rng(0)
    >>> model = sepclr.CPCA(2, 2).fit(rng.normal(size=(40, 5)), rng.normal(size=(40, 5)))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = model.save(folder)
    ...     loaded = sepclr.load(folder)
    >>> np.array_equal(loaded.transform(np.ones((1, 5)))[1], model.transform(np.ones((1, 5)))[1])
    True
    """
    config, tensors = read_model(directory)
    name = config.get("class")
    method = method_by_class(str(name))
    if method is None:
        known = sorted(m.cls.__name__ for m in METHODS.values())
        raise CheckpointError(
            f"{directory} holds a model of class {name!r}, unknown to this sepclr; known: {known}"
        )
    model: ContrastiveEstimator = method.cls._restore(config, tensors, directory)
    return model


__all__ = [
    "CPCA",
    "CVAE",
    "MMCVAE",
    "ConVAE",
    "ContrastiveEstimator",
    "ContrastiveTransformer",
    "SepCLR",
    "SepVAE",
    "TrainedEstimator",
    "load",
]
