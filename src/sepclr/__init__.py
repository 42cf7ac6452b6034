"""sepclr: contrastive analysis of a target dataset against a background dataset.

``SepCLR(...).fit(background, target)`` learns a common and a salient representation;
``transform(x)`` returns both. See the README for the method and its benchmark.
"""

from sepclr import datasets
from sepclr._version import __version__
from sepclr.errors import SepCLRError
from sepclr.methods import SepCLR, load

__all__ = ["SepCLR", "SepCLRError", "__version__", "datasets", "load"]
