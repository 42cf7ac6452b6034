"""This project's post-hoc correction of SepCLR's codes (``residualize``): take out of the
salient code what a linear function of the common code predicts, the common code restricted
to the leading principal directions of the backgrounds' common codes; then, for ``"both"``,
out of the common code what the corrected salient code predicts
(:func:`sepclr.objectives.redundancy.linear_residual`)."""

import torch

from sepclr.nets.encoder import EncodedBatch
from sepclr.objectives.redundancy import linear_residual

RESIDUALS = ("none", "salient", "both")
# Share of the backgrounds' common variance whose principal directions count as common
# (chosen on the validation splits: benchmarks/results/salient/residual-variance).
RESIDUAL_KEPT_VARIANCE = 0.9
Residuals = dict[str, tuple[torch.Tensor, torch.Tensor]]


def fit_residuals(
    target: EncodedBatch,
    background: EncodedBatch,
    mode: str,
    kept_variance: float = RESIDUAL_KEPT_VARIANCE,
) -> Residuals:
    """The linear corrections of ``mode``, fitted on the encoded training rows."""
    if mode == "none":
        return {}
    residuals = {
        "salient": linear_residual(
            target.common_rep, target.salient_rep, background.common_rep, kept_variance
        )
    }
    if mode == "both":
        target_s = apply_residuals(target, residuals).salient_rep
        background_s = apply_residuals(background, residuals).salient_rep
        residuals["common"] = linear_residual(
            target_s, target.common_rep, background_s, kept_variance=1.0
        )
    return residuals


def apply_residuals(out: EncodedBatch, residuals: Residuals) -> EncodedBatch:
    """Codes after the corrections."""
    if "salient" in residuals:
        coef, offset = residuals["salient"]
        out = out._replace(salient_rep=out.salient_rep - (out.common_rep - offset) @ coef)
    if "common" in residuals:
        coef, offset = residuals["common"]
        out = out._replace(common_rep=out.common_rep - (out.salient_rep - offset) @ coef)
    return out
