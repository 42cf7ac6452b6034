"""The mathematics of SepCLR: pure functions of tensors (no I/O, no training loop)."""

from sepclr.objectives.combined import SepCLRWeights, sepclr_objective
from sepclr.objectives.independence import INDEPENDENCE_TERMS, independence_term, kjem
from sepclr.objectives.infomax import (
    alignment,
    infoless_penalty,
    null_background_rows,
    salient_uniformity,
    uniformity,
)
from sepclr.objectives.kernels import pairwise_sq_distances

__all__ = [
    "INDEPENDENCE_TERMS",
    "SepCLRWeights",
    "alignment",
    "independence_term",
    "infoless_penalty",
    "kjem",
    "null_background_rows",
    "pairwise_sq_distances",
    "salient_uniformity",
    "sepclr_objective",
    "uniformity",
]
