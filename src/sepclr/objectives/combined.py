"""The full SepCLR objective (Louiset et al., ICLR 2024, Eq. 10; official code
``cifar_mnist/sep_clr_k-jem.py``), from the projector outputs of two views."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from sepclr.docstrings import shared_parameters
from sepclr.engine.shard import SINGLE_PROCESS, Shard
from sepclr.objectives.infomax import (
    alignment,
    conditional_salient_uniformity,
    infoless_penalty,
    null_background_rows,
    salient_uniformity,
    uniformity,
)
from sepclr.objectives.redundancy import redundancy
from sepclr.objectives.registry import IndependencePenalty, build_independence
from sepclr.registry import TERMS


@dataclass(frozen=True)
class SepCLRObjectiveSettings:
    """The weights, bandwidths and extensions of the SepCLR objective.

    The defaults are the paper's objective; the extensions are this project's and are off.

    Parameters
    ----------
    salient : float
        beta_S, the weight of the salient InfoMax term.
    infoless : float
        beta_reg, the weight of the information-less penalty.
    independence : float
        lambda, the weight of the independence term.
    uniformity : float
        The factor the official code puts on each uniformity term (2).
    common_bandwidth, salient_bandwidth : float
        The tau of the kernels in each space; an independence term that
        :func:`sepclr_objective` builds from its name uses ``common_bandwidth``, as SepCLR uses
        one ``bandwidth`` for every kernel.
    redundancy : str
        A penalty of :mod:`sepclr.objectives.redundancy` between the target rows' common and
        salient codes (``"none"``: off).
    redundancy_weight : float
        Its weight.
    conditional_uniformity : bool
        Replace the s'-uniformity by its conditional form
        (:func:`conditional_salient_uniformity`).
    """

    salient: float = 1.0
    infoless: float = 100.0
    independence: float = 100.0
    uniformity: float = 2.0
    common_bandwidth: float = 0.5
    salient_bandwidth: float = 0.5
    redundancy: str = "none"
    redundancy_weight: float = 0.0
    conditional_uniformity: bool = False


@shared_parameters
def sepclr_objective(
    common_heads: tuple[torch.Tensor, torch.Tensor],
    salient_heads: tuple[torch.Tensor, torch.Tensor],
    is_target: torch.Tensor,
    settings: SepCLRObjectiveSettings,
    independence: "str | IndependencePenalty" = "k-jem",
    shard: Shard = SINGLE_PROCESS,
    common_reps: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """SepCLR loss ``L = L_C + beta_S L_S + beta_reg L_reg + lambda L_ind`` (minimised), with

    - ``L_C = align(c^1, c^2) + (w_u / 2) [unif(c^1) + unif(c^2)]`` on L2-normalised common
      heads of all rows (max I(x; c) + I(y; c));
    - ``L_S = align(s^1_Y, s^2_Y) + (w_u / 2) [unif(s~^1) + unif(s~^2)]`` where ``s_Y`` are the
      target rows and ``s~`` the batch with background rows at s' = 0 (max I(y; s));
    - ``L_reg = (1/2) [infoless(s^1) + infoless(s^2)]`` (background codes onto s');
    - ``L_ind = (1/2) [ind(c^1, s~^1) + ind(c^2, s~^2)]``, k-JEM by default; ``independence``
      is the name of a term without a critic, or any penalty callable of (c, s, shard) (see
      :func:`sepclr.objectives.registry.build_independence`).

    With a redundancy penalty (see :class:`SepCLRObjectiveSettings`), ``L`` adds
    ``w_red L_red`` with ``L_red = (1/2) [red(r^1, s^1) + red(r^2, s^2)]`` on the target
    rows, ``r`` the common representations.

    Louiset et al., ICLR 2024; official code ``cifar_mnist/sep_clr_k-jem.py``. With a batch
    split across processes, each passes its own rows and its ``shard``, and every process
    gets the global values (see :mod:`sepclr.engine.shard`).

    Parameters
    ----------
    common_heads, salient_heads : tuple of Tensor
        The heads of the two views, each of shape (n, d).
    settings : SepCLRObjectiveSettings
        The weights, bandwidths and extensions.
    independence : str or callable
        The independence term.
    common_reps : tuple of Tensor, optional
        The common representations the redundancy penalty compares (the common heads when
        None).

    Returns
    -------
    loss : Tensor
        The total, a scalar.
    terms : dict of str to Tensor
        Each term before its weight, for logging.
    """
    c1, c2 = (F.normalize(h, dim=1) for h in common_heads)
    s1, s2 = salient_heads
    w = settings
    half_u = w.uniformity / 2.0
    targets = is_target
    common = alignment(c1, c2, w.common_bandwidth, shard) + half_u * (
        uniformity(c1, w.common_bandwidth, shard) + uniformity(c2, w.common_bandwidth, shard)
    )
    spread = _salient_spread((s1, s2), (c1, c2), targets, w, shard)
    salient = alignment(s1, s2, w.salient_bandwidth, shard, rows=targets) + half_u * spread
    infoless = 0.5 * (
        infoless_penalty(s1, targets, w.salient_bandwidth, shard)
        + infoless_penalty(s2, targets, w.salient_bandwidth, shard)
    )
    if isinstance(independence, str):
        independence = _kernel_term(independence, w.common_bandwidth)
    ind = 0.5 * (
        independence(c1, null_background_rows(s1, targets), shard=shard)
        + independence(c2, null_background_rows(s2, targets), shard=shard)
    )
    total = common + w.salient * salient + w.infoless * infoless + w.independence * ind
    terms = {"common": common, "salient": salient, "infoless": infoless, "independence": ind}
    if w.redundancy != "none":
        r1, r2 = common_reps if common_reps is not None else common_heads
        terms["redundancy"] = 0.5 * (
            redundancy(w.redundancy, r1, s1, targets, shard)
            + redundancy(w.redundancy, r2, s2, targets, shard)
        )
        total = total + w.redundancy_weight * terms["redundancy"]
    return total, terms


def _salient_spread(
    salient: tuple[torch.Tensor, torch.Tensor],
    common: tuple[torch.Tensor, torch.Tensor],
    is_target: torch.Tensor,
    w: SepCLRObjectiveSettings,
    shard: Shard,
) -> torch.Tensor:
    """The s'-uniformity of both views (or its conditional form), summed."""
    (s1, s2), (c1, c2) = salient, common
    tau_s, tau_c = w.salient_bandwidth, w.common_bandwidth
    if w.conditional_uniformity:
        return conditional_salient_uniformity(
            s1, c1, is_target, tau_s, tau_c, shard
        ) + conditional_salient_uniformity(s2, c2, is_target, tau_s, tau_c, shard)
    return salient_uniformity(s1, is_target, tau_s, shard) + salient_uniformity(
        s2, is_target, tau_s, shard
    )


def _kernel_term(name: str, bandwidth: float) -> IndependencePenalty:
    """The penalty of a registered term that needs no trained critic."""
    if name in TERMS and TERMS[name].trained:
        raise ValueError(
            f"{name!r} is a trained critic; build it once with build_independence and pass it"
        )
    return build_independence(name, 0, 0, bandwidth)
