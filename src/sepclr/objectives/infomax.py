"""InfoMax terms of SepCLR (Louiset et al., ICLR 2024), as computed by the official code
(``losses.py`` of ``neurospin-projects/2024_rlouiset_sep_clr``), in numerically stable form.

All kernels are Gaussian, ``k(a, b) = exp(-|a - b|^2 / (2 tau))``; with ``tau = 0.5`` (the
paper's code value) this is ``exp(-|a - b|^2)``. On the unit sphere it is a von Mises-Fisher
kernel with concentration ``1 / tau``. Every log of a mean of exponentials is a ``logsumexp``
minus ``log(count)``, so the terms stay finite where the reference's
``.exp().mean().log()`` underflows to ``-inf``.

Every term takes a ``shard`` (:mod:`sepclr.engine.shard`): with a batch split across
processes, each process passes its own rows and gets the value over the global batch.
"""

import math

import torch

from sepclr.docstrings import shared_parameters
from sepclr.engine.shard import SINGLE_PROCESS, Shard
from sepclr.objectives.kernels import pairwise_sq_distances, self_pairs


@shared_parameters
def alignment(
    a: torch.Tensor,
    b: torch.Tensor,
    bandwidth: float = 0.5,
    shard: Shard = SINGLE_PROCESS,
    rows: torch.Tensor | None = None,
) -> torch.Tensor:
    """Alignment of two views, ``(1/n) sum_i |a_i - b_i|^2 / (2 tau)``, over the rows where
    the boolean mask ``rows`` is true (all rows when None).

    The conditional-entropy half of an InfoMax term (-H(z|x) up to constants), Wang & Isola
    (ICML 2020) with alpha = 2; SepCLR code ``align_loss``. Minimised. Shapes (n, d), (n, d).
    Returns 0 when no row is selected (no target in a batch has no salient alignment to
    compute). A mask, rather than the selected rows, keeps the row count on the device: no
    wait for the GPU at each step.

    Parameters
    ----------
    a, b : Tensor
        The two views' codes, (n, d) each.
    rows : Tensor, optional
        Boolean (n,): the rows counted.

    Returns
    -------
    Tensor
        A scalar; 0 when no row is selected.
    """
    distances = (a - b).pow(2).sum(dim=1)
    if rows is None:
        count = shard.count(len(distances))
        if count == 0:
            return distances.sum() * 0.0
        return shard.sum(distances.sum()) / count / (2.0 * bandwidth)
    selected = rows.to(distances.dtype)
    selected_count = shard.sum(selected.sum()).clamp_min(1.0)
    return shard.sum((distances * selected).sum()) / selected_count / (2.0 * bandwidth)


@shared_parameters
def uniformity(
    z: torch.Tensor, bandwidth: float = 0.5, shard: Shard = SINGLE_PROCESS
) -> torch.Tensor:
    """Uniformity, ``log[ (1 / (n (n-1))) sum_{i != j} exp(-|z_i - z_j|^2 / (2 tau)) ]``.

    Minus a resubstitution KDE estimate of the entropy H(z) (Wang & Isola, ICML 2020; SepCLR
    code ``uniform_loss``, which averages over ``torch.pdist`` pairs i < j: the same value).
    Minimised. ``z`` is (n, d) with n >= 2; for the common space it holds L2-normalised rows.

    Parameters
    ----------
    z : Tensor
        Codes, (n, d) with n >= 2.

    Returns
    -------
    Tensor
        A scalar.
    """
    everything = shard.gather(z)
    n = len(everything)
    if n < 2:
        raise ValueError("uniformity needs at least 2 rows")
    if shard.distributed:
        log_kernel = -pairwise_sq_distances(z, everything) / (2.0 * bandwidth)
        others = self_pairs(len(z), n, shard.offset(len(z)), z.device)
        log_sum = torch.logsumexp(log_kernel.masked_fill(others, float("-inf")).reshape(-1), 0)
        log_sum = torch.logsumexp(shard.gather(log_sum.reshape(1)), dim=0)
    else:
        log_kernel = pairwise_sq_distances(z) / (-2.0 * bandwidth)
        log_kernel.diagonal().fill_(float("-inf"))
        log_sum = torch.logsumexp(log_kernel.reshape(-1), dim=0)
    return log_sum - math.log(n * (n - 1))


def null_background_rows(s: torch.Tensor, is_target: torch.Tensor) -> torch.Tensor:
    """The 'teacher' salient tensor of the official code."""
    return s * is_target.to(s.dtype).unsqueeze(1)


@shared_parameters
def salient_uniformity(
    s: torch.Tensor, is_target: torch.Tensor, bandwidth: float = 0.5, shard: Shard = SINGLE_PROCESS
) -> torch.Tensor:
    """s'-uniformity: :func:`uniformity` of the batch with background rows set to ``s' = 0``.

    Its pairs are target-target (spread the targets), target-s' (repel targets from s') and
    s'-s' (constant 1, no gradient, part of the normaliser). SepCLR code: ``uniform_loss`` on
    ``specific_head_teacher``. Minimised. Shapes: ``s`` (n, d), ``is_target`` (n,) bool.

    Returns
    -------
    Tensor
        A scalar.
    """
    return uniformity(null_background_rows(s, is_target), bandwidth, shard)


@shared_parameters
def infoless_penalty(
    s: torch.Tensor, is_target: torch.Tensor, bandwidth: float = 0.5, shard: Shard = SINGLE_PROCESS
) -> torch.Tensor:
    """Information-less penalty, ``(1/N_x) sum_{i in background} |s_i - s'|^2 / (2 tau)``.

    Enforces ``D_KL(p(s_x) || delta(s')) = 0`` by pulling every background salient code onto
    ``s' = 0`` (SepCLR paper Eq. 8; code: ``align_loss(teacher[bg], head[bg])``). Minimised.
    Returns 0 when the batch has no background row.

    Returns
    -------
    Tensor
        A scalar; 0 when the batch has no background row.
    """
    return alignment(s, torch.zeros_like(s), bandwidth, shard, rows=~is_target)


def conditional_salient_uniformity(
    s: torch.Tensor,
    c: torch.Tensor,
    is_target: torch.Tensor,
    bandwidth: float = 0.5,
    common_bandwidth: float = 0.5,
    shard: Shard = SINGLE_PROCESS,
) -> torch.Tensor:
    """Minus a kernel estimate of the conditional entropy H(s | c), with background rows at
    ``s' = 0``:

    ``(1/n) sum_i log sum_{j != i} w_ij exp(-|s~_i - s~_j|^2 / (2 tau_S))``, with
    ``w_ij = exp(-|c_i - c_j|^2 / (2 tau_C)) / sum_{k != i} exp(-|c_i - c_k|^2 / (2 tau_C))``.

    It is the s'-uniformity with each pair weighted by how alike the two rows are in the
    common space (``c``, L2-normalised, enters as a constant): two targets are pushed apart
    in S in proportion to their common similarity, so spreading targets along a factor that
    ``c`` already separates gains nothing. Equals ``H(c) - H(c, s)`` for the resubstitution
    estimators without self-pairs. Minimised. Shapes: ``s`` (n, d_s), ``c`` (n, d_c),
    ``is_target`` (n,) bool; n >= 2 over all processes.
    """
    s_all = shard.gather(null_background_rows(s, is_target))
    c_all = shard.gather(c.detach())
    n = len(s_all)
    if n < 2:
        raise ValueError("the conditional salient uniformity needs at least 2 rows")
    others = self_pairs(n, n, 0, s_all.device)
    log_w = (-pairwise_sq_distances(c_all) / (2.0 * common_bandwidth)).masked_fill(
        others, float("-inf")
    )
    log_w = log_w - torch.logsumexp(log_w, dim=1, keepdim=True)
    log_ks = -pairwise_sq_distances(s_all) / (2.0 * bandwidth)
    return torch.logsumexp(log_w + log_ks, dim=1).mean()
