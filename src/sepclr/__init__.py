"""sepclr: contrastive analysis of a target dataset against a background dataset.

``SepCLR(...).fit(background, target)`` learns a common and a salient representation;
``transform(x)`` returns both. The baselines ``CPCA``, ``CVAE``, ``ConVAE``, ``MMCVAE`` and
``SepVAE`` share that contract; ``ContrastiveTransformer(method)`` puts one in a
scikit-learn pipeline (``fit(X, y)``, ``y`` marking the target rows).
``select(background, target)`` chooses SepCLR's settings without factor labels;
``explain(model, x)`` attributes the salient score to the input's features. See the
README for the methods and their benchmark.
"""

from sepclr import datasets
from sepclr._version import __version__
from sepclr.attribution import explain, feature_loadings
from sepclr.errors import SepCLRError
from sepclr.methods import (
    CPCA,
    CVAE,
    MMCVAE,
    ContrastiveTransformer,
    ConVAE,
    SepCLR,
    SepVAE,
    load,
)
from sepclr.selection import select

__all__ = [
    "CPCA",
    "CVAE",
    "MMCVAE",
    "ConVAE",
    "ContrastiveTransformer",
    "SepCLR",
    "SepCLRError",
    "SepVAE",
    "__version__",
    "datasets",
    "explain",
    "feature_loadings",
    "load",
    "select",
]
