"""The mathematics of SepCLR: pure functions of tensors (no I/O, no training loop)."""

from sepclr.objectives.registry import INDEPENDENCE_TERMS, build_independence  # noqa: I001
from sepclr.objectives.combined import SepCLRObjectiveSettings, sepclr_objective
from sepclr.objectives.independence import kjem, kmi, mmd_independence
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
    "SepCLRObjectiveSettings",
    "alignment",
    "build_independence",
    "infoless_penalty",
    "kjem",
    "kmi",
    "mmd_independence",
    "null_background_rows",
    "pairwise_sq_distances",
    "salient_uniformity",
    "sepclr_objective",
    "uniformity",
]
