"""Pairwise squared distances and log-mean-exp, the two numerical building blocks of the
kernel density estimators used by every objective."""

import math

import torch


def pairwise_sq_distances(
    a: torch.Tensor, b: torch.Tensor | None = None, self_offset: int | None = None
) -> torch.Tensor:
    """Squared Euclidean distances ``D[i, j] = |a_i - b_j|^2`` from one Gram matrix.

    Computed as ``|a_i|^2 + |b_j|^2 - 2 <a_i, b_j>`` and clamped at 0 (rounding can make the
    expansion slightly negative). The distance of a row to itself is set exactly to 0, which
    the expansion only approximates in float32 for large norms: the diagonal when ``b`` is
    omitted, or the entries ``(i, self_offset + i)`` when ``a`` is the block of ``b``'s rows
    that starts at ``self_offset`` (a process's rows within the gathered batch). No square
    root is taken, so the gradient is finite even for coincident points, where
    ``torch.pdist(...).pow(2)`` gives NaN.

    Shapes: ``a`` is (n, d), ``b`` is (m, d) (defaults to ``a``); the result is (n, m).
    """
    sq_a = a.pow(2).sum(dim=1, keepdim=True)
    if b is None:
        distances = torch.addmm(sq_a + sq_a.T, a, a.T, alpha=-2.0).clamp_min(0.0)
        distances.diagonal().zero_()
        return distances
    sq_b = b.pow(2).sum(dim=1, keepdim=True).T
    distances = torch.addmm(sq_a + sq_b, a, b.T, alpha=-2.0).clamp_min(0.0)
    if self_offset is None:
        return distances
    return distances.masked_fill(self_pairs(len(a), len(b), self_offset, a.device), 0.0)


def self_pairs(rows: int, columns: int, offset: int, device: torch.device) -> torch.Tensor:
    """Boolean (rows, columns) mask of the entries ``(i, offset + i)``: where row ``i`` of a
    block meets itself in the full batch.
    """
    mask = torch.zeros(rows, columns, dtype=torch.bool, device=device)
    index = torch.arange(rows, device=device)
    mask[index, index + offset] = True
    return mask


def log_mean_exp(x: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """``log(mean(exp(x)))`` over ``dim`` (all entries if None), as ``logsumexp - log(count)``."""
    if dim is None:
        return torch.logsumexp(x.reshape(-1), dim=0) - math.log(x.numel())
    return torch.logsumexp(x, dim=dim) - math.log(x.shape[dim])
