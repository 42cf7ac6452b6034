"""Independence terms between the common code ``c`` and the salient code ``s``."""

import torch

from sepclr.objectives.kernels import log_mean_exp, pairwise_sq_distances


def kjem(c: torch.Tensor, s: torch.Tensor, bandwidth: float = 0.5) -> torch.Tensor:
    """k-JEM, minus the kernel estimate of the joint entropy H(c, s):

    ``(1/n) sum_i log[ (1/n) sum_j exp(-|c_i - c_j|^2 / (2 tau)) exp(-|s_i - s_j|^2 / (2 tau)) ]``

    A resubstitution KDE with a product kernel, self-pairs j = i included (SepCLR, Louiset et
    al., ICLR 2024, Eq. 9; code ``joint_entropy_loss``). Minimising it maximises H(c, s); since
    the uniformity terms already maximise H(c) and H(s), this pushes
    I(c; s) = H(c) + H(s) - H(c, s) down without lowering the marginal entropies.
    Shapes: ``c`` (n, d_c), L2-normalised; ``s`` (n, d_s), background rows at s' = 0.
    """
    log_kernel = -(pairwise_sq_distances(c) + pairwise_sq_distances(s)) / (2.0 * bandwidth)
    return log_mean_exp(log_kernel, dim=1).mean()


INDEPENDENCE_TERMS = ("k-jem", "none")


def independence_term(
    name: str, c: torch.Tensor, s: torch.Tensor, bandwidth: float = 0.5
) -> torch.Tensor:
    """Evaluate the independence term called ``name`` (one of :data:`INDEPENDENCE_TERMS`)."""
    if name == "k-jem":
        return kjem(c, s, bandwidth)
    if name == "none":
        return c.sum() * 0.0
    raise ValueError(f"unknown independence term {name!r}; choose one of {INDEPENDENCE_TERMS}")
