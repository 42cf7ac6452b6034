"""Independence terms between the common code ``c`` and the salient code ``s``.

Each term registers itself under its name in the paper's Table 1
(:func:`sepclr.registry.register_term`). Every term takes a ``shard``
(:mod:`sepclr.engine.shard`): with a batch split across processes, each process passes
its own rows and gets the value over the global batch.
"""

from collections.abc import Callable
from functools import partial

import torch

from sepclr.docstrings import shared_parameters
from sepclr.engine.shard import SINGLE_PROCESS, Shard
from sepclr.objectives.kernels import log_mean_exp, pairwise_sq_distances
from sepclr.registry import register_term


def _log_kernel(z: torch.Tensor, bandwidth: float, shard: Shard) -> torch.Tensor:
    """Log Gaussian kernel of this process's rows of ``z`` against the whole batch, an
    (n, N) matrix with self-pairs at distance 0."""
    if not shard.distributed:
        return -pairwise_sq_distances(z) / (2.0 * bandwidth)
    return -pairwise_sq_distances(z, shard.gather(z), shard.offset(len(z))) / (2.0 * bandwidth)


def _log_kernels(
    c: torch.Tensor,
    s: torch.Tensor,
    bandwidth: float,
    shard: Shard,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_log_kernel` in each space."""
    return _log_kernel(c, bandwidth, shard), _log_kernel(s, bandwidth, shard)


def _batch_mean(rows: torch.Tensor, shard: Shard) -> torch.Tensor:
    """The mean of per-row values over the whole batch."""
    return shard.sum(rows.sum()) / (len(rows) * shard.world_size)  # equal rows per process


@shared_parameters
def kjem(
    c: torch.Tensor, s: torch.Tensor, bandwidth: float = 0.5, shard: Shard = SINGLE_PROCESS
) -> torch.Tensor:
    """k-JEM, minus the kernel estimate of the joint entropy H(c, s):

    ``(1/n) sum_i log[ (1/n) sum_j exp(-|c_i - c_j|^2 / (2 tau)) exp(-|s_i - s_j|^2 / (2 tau)) ]``

    A resubstitution KDE with a product kernel, self-pairs j = i included (SepCLR, Louiset et
    al., ICLR 2024, Eq. 9; code ``joint_entropy_loss``). Minimising it maximises H(c, s); since
    the uniformity terms already maximise H(c) and H(s), this pushes
    I(c; s) = H(c) + H(s) - H(c, s) down without lowering the marginal entropies.
    Shapes: ``c`` (n, d_c), L2-normalised; ``s`` (n, d_s), background rows at s' = 0.

    Returns
    -------
    Tensor
        A scalar.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> c = torch.nn.functional.normalize(torch.randn(64, 4, generator=g), dim=1)
    >>> bool(kjem(c, c) > kjem(c, torch.roll(c, 1, 0)))  # dependent codes cost more
    True
    """
    # the product kernel is one Gaussian kernel on the concatenated code [c, s]:
    # |c_i - c_j|^2 + |s_i - s_j|^2 = |[c, s]_i - [c, s]_j|^2 (one Gram product, not two)
    log_kernel = _log_kernel(torch.cat([c, s], dim=1), bandwidth, shard)
    return _batch_mean(log_mean_exp(log_kernel, dim=1), shard)


@shared_parameters
def kmi(
    c: torch.Tensor, s: torch.Tensor, bandwidth: float = 0.5, shard: Shard = SINGLE_PROCESS
) -> torch.Tensor:
    """k-MI, the kernel estimate of the mutual information itself (the paper's Table 1):

    ``I(c; s) ~ (1/n) sum_i log[ (1/n) sum_j K_C K_S / ((1/n) sum_j K_C) ((1/n) sum_j K_S) ]``

    with the kernels of :func:`kjem` (``K(a, b) = exp(-|a - b|^2 / (2 tau))``, self-pairs
    included), i.e. ``H(c) + H(s) - H(c, s)`` with the same resubstitution estimators. The
    paper's "k-MI" ablation row; minimising it also lowers the marginal entropies, which is
    what k-JEM avoids. Shapes as in :func:`kjem`.

    Returns
    -------
    Tensor
        A scalar.
    """
    log_kc, log_ks = _log_kernels(c, s, bandwidth, shard)
    joint = log_mean_exp(log_kc + log_ks, dim=1)
    return _batch_mean(joint - log_mean_exp(log_kc, dim=1) - log_mean_exp(log_ks, dim=1), shard)


MMD_GAMMAS = tuple(10.0**k for k in range(-6, 7))


def multi_kernel_mmd(
    x: torch.Tensor, y: torch.Tensor, shard: Shard = SINGLE_PROCESS
) -> torch.Tensor:
    """Biased squared MMD with a sum of 13 RBF kernels, ``k(a, b) = sum_g exp(-g |a - b|^2)``
    for ``g`` in 1e-6 ... 1e6 (Gretton et al., JMLR 2012; the kernel of MM-cVAE, Weinberger et
    al., AISTATS 2022): ``mean k(x, x) + mean k(y, y) - 2 mean k(x, y)``, clamped at 0.
    """
    all_x, all_y = shard.gather(x), shard.gather(y)

    def mean_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        distances = pairwise_sq_distances(a, b)
        sums = torch.stack([torch.exp(-g * distances).sum() for g in MMD_GAMMAS]).sum()
        return shard.sum(sums) / (len(b) * len(a) * shard.world_size)

    return (mean_kernel(x, all_x) + mean_kernel(y, all_y) - 2.0 * mean_kernel(x, all_y)).clamp_min(
        0.0
    )


def mmd_independence(
    c: torch.Tensor, s: torch.Tensor, shard: Shard = SINGLE_PROCESS
) -> torch.Tensor:
    """MMD between joint samples ``(c_i, s_i)`` and product-of-marginals samples
    ``(c_i, s_pi(i))``, ``pi`` a random permutation of the batch (torch's global generator).

    The paper's "MMD" row names a moment-matching distance without saying which distributions
    it matches; this project matches the joint against the product of
    the marginals, which is zero exactly when the batch's c and s look independent, with
    :func:`multi_kernel_mmd`.
    """
    all_s = shard.gather(s)
    permutation = shard.permutation(len(all_s), s.device)
    own = permutation[shard.offset(len(s)) : shard.offset(len(s)) + len(s)]
    joint = torch.cat([c, s], dim=1)
    product = torch.cat([c, all_s[own]], dim=1)
    return multi_kernel_mmd(joint, product, shard)


@register_term("mmd")
def _mmd_term() -> Callable[..., torch.Tensor]:
    return mmd_independence  # the multi-kernel MMD has its own bandwidths


def no_independence(
    c: torch.Tensor, s: torch.Tensor, shard: Shard = SINGLE_PROCESS
) -> torch.Tensor:
    """The "none" row of the paper's Table 1: a zero penalty that keeps the graph."""
    del s, shard
    return c.sum() * 0.0


@register_term("none")
def _no_term() -> Callable[..., torch.Tensor]:
    return no_independence


@register_term("k-mi")
def _kmi_term(bandwidth: float) -> Callable[..., torch.Tensor]:
    return partial(kmi, bandwidth=bandwidth)


@register_term("k-jem")
def _kjem_term(bandwidth: float) -> Callable[..., torch.Tensor]:
    return partial(kjem, bandwidth=bandwidth)
