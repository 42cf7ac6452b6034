"""sepclr: contrastive analysis of a target dataset against a background dataset.

``SepCLR(...).fit(background, target)`` learns a common and a salient representation;
``transform(x)`` returns both. The baselines ``CPCA``, ``CVAE``, ``ConVAE``, ``MMCVAE`` and
``SepVAE`` share that contract. ``select(background, target)`` chooses SepCLR's settings
without factor labels. See the README for the methods and their benchmark.
"""

from sepclr import datasets
from sepclr._version import __version__
from sepclr.errors import SepCLRError
from sepclr.methods import CPCA, CVAE, MMCVAE, ConVAE, SepCLR, SepVAE, load
from sepclr.selection import select

__all__ = [
    "CPCA",
    "CVAE",
    "MMCVAE",
    "ConVAE",
    "SepCLR",
    "SepCLRError",
    "SepVAE",
    "__version__",
    "datasets",
    "load",
    "select",
]
