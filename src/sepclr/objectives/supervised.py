"""Supervised SepCLR: one salient dimension per known target attribute (the dSprites
experiment of Louiset et al., ICLR 2024; official code
``dsprite_digit_grid/supervised_disentangled_sep_clr_k-jem.py``)."""

from functools import partial

import torch
import torch.nn.functional as F

from sepclr.engine.shard import SINGLE_PROCESS, Shard
from sepclr.objectives.independence import kjem
from sepclr.objectives.infomax import alignment, null_background_rows, uniformity
from sepclr.objectives.registry import IndependencePenalty

ATTRIBUTE_KINDS = ("discrete", "continuous")
# tau of the attribute kernel exp(-(a_i - a_j)^2 / (2 tau)): the official code's 1e-5 divisor
# (discrete: only equal values attract) and sigma^2 = 0.025 (continuous)
ATTRIBUTE_BANDWIDTH = {"discrete": 0.5e-5, "continuous": 0.025}
# tau of the pull of background codes onto 0 in each kind of dimension
INFOLESS_BANDWIDTH = {"discrete": 0.5, "continuous": 0.025}


def supervised_alignment(
    x: torch.Tensor, attribute: torch.Tensor, bandwidth: float
) -> torch.Tensor:
    """Attribute-weighted alignment of a 1-D code,
    ``mean_{i<j} exp(-(a_i - a_j)^2 / (2 tau)) (x_i - x_j)^2``: samples with close attribute
    values are pulled together in proportion to a Gaussian kernel on the attribute (official
    ``supalign`` / ``discsupalign``). ``x`` and ``attribute`` are (n,); 0 for n < 2.
    """
    n = len(x)
    if n < 2:
        return x.sum() * 0.0
    weights = torch.exp(-(attribute[:, None] - attribute[None, :]).pow(2) / (2.0 * bandwidth))
    pairs = torch.triu_indices(n, n, offset=1, device=x.device)
    squares = (x[:, None] - x[None, :]).pow(2)
    return (weights * squares)[pairs[0], pairs[1]].mean()


def supervised_salient_loss(
    s: torch.Tensor, is_target: torch.Tensor, attributes: torch.Tensor, kinds: tuple[str, ...]
) -> torch.Tensor:
    """``L_S = (1/K) sum_k { unif(s~_k) + (1/2) [supalign(s_Y,k, a_Y,k) + align(0, s_X,k)] }``
    (official ``supervised_disentangled_sep_clr_k-jem.py``): column ``k`` of the salient code
    ``s`` (n, K) is spread (uniformity with tau 0.5 of the batch with background rows at 0),
    aligned with attribute ``k`` on the target rows (``attributes`` (n, K), background rows
    ignored) and pulled onto 0 on the background rows. ``kinds[k]`` is ``"discrete"`` or
    ``"continuous"``.
    """
    nulled = null_background_rows(s, is_target)
    terms = []
    for k, kind in enumerate(kinds):
        column = s[:, k]
        background = column[~is_target]
        terms.append(
            uniformity(nulled[:, k : k + 1], 0.5)
            + 0.5
            * (
                supervised_alignment(
                    column[is_target], attributes[is_target, k], ATTRIBUTE_BANDWIDTH[kind]
                )
                + alignment(
                    background[:, None],
                    torch.zeros_like(background)[:, None],
                    INFOLESS_BANDWIDTH[kind],
                )
            )
        )
    return torch.stack(terms).mean()


def supervised_sepclr_objective(
    common: tuple[torch.Tensor, torch.Tensor],
    salient: torch.Tensor,
    is_target: torch.Tensor,
    attributes: torch.Tensor,
    kinds: tuple[str, ...],
    salient_weight: float = 100.0,
    independence_weight: float = 10.0,
    bandwidth: float = 0.5,
    independence: IndependencePenalty | None = None,
    shard: Shard = SINGLE_PROCESS,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``L = L_C + beta_S L_S + lambda ind(c, s~)`` (official
    ``supervised_disentangled_sep_clr_k-jem.py``), with
    ``L_C = align(c, c') + (1/2) [unif(c) + unif(c')]`` on the L2-normalised common heads of
    the original and the distorted image, ``L_S`` from :func:`supervised_salient_loss` on the
    salient code of the original image, and the independence penalty ``independence`` (any
    term of :func:`sepclr.objectives.build_independence`; k-JEM with ``bandwidth``, as in the
    official code, when None) on the original image. Returns the total and each unweighted
    term.
    """
    c, c_view = (F.normalize(h, dim=1) for h in common)
    common_term = alignment(c, c_view, bandwidth) + 0.5 * (
        uniformity(c, bandwidth) + uniformity(c_view, bandwidth)
    )
    salient_term = supervised_salient_loss(salient, is_target, attributes, kinds)
    penalty = independence or partial(kjem, bandwidth=bandwidth)
    dependence = penalty(c, null_background_rows(salient, is_target), shard=shard)
    total = common_term + salient_weight * salient_term + independence_weight * dependence
    return total, {"common": common_term, "salient": salient_term, "independence": dependence}
