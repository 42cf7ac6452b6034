"""Pairwise squared distances and log-mean-exp, the two numerical building blocks of the
kernel density estimators used by every objective."""

import math

import torch


def pairwise_sq_distances(a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """Squared Euclidean distances ``D[i, j] = |a_i - b_j|^2`` from one Gram matrix.

    Computed as ``|a_i|^2 + |b_j|^2 - 2 <a_i, b_j>`` and clamped at 0 (rounding can make the
    expansion slightly negative); when ``b`` is omitted the diagonal is exactly 0, which the
    expansion only approximates in float32 for large norms. No square root is taken, so the
    gradient is finite even for coincident points, where ``torch.pdist(...).pow(2)`` gives NaN.

    Shapes: ``a`` is (n, d), ``b`` is (m, d) (defaults to ``a``); the result is (n, m).
    """
    sq_a = a.pow(2).sum(dim=1, keepdim=True)
    if b is None:
        distances = (sq_a + sq_a.T - 2.0 * (a @ a.T)).clamp_min(0.0)
        eye = torch.eye(len(a), dtype=torch.bool, device=a.device)
        return distances.masked_fill(eye, 0.0)
    sq_b = b.pow(2).sum(dim=1, keepdim=True).T
    return (sq_a + sq_b - 2.0 * (a @ b.T)).clamp_min(0.0)


def log_mean_exp(x: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """``log(mean(exp(x)))`` over ``dim`` (all entries if None), as ``logsumexp - log(count)``."""
    if dim is None:
        return torch.logsumexp(x.reshape(-1), dim=0) - math.log(x.numel())
    return torch.logsumexp(x, dim=dim) - math.log(x.shape[dim])


def log_mean_exp_off_diagonal(x: torch.Tensor) -> torch.Tensor:
    """``log(mean_{i != j} exp(x[i, j]))`` for a square matrix, the diagonal left out."""
    n = x.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=x.device)
    masked = x.masked_fill(eye, float("-inf"))
    return torch.logsumexp(masked.reshape(-1), dim=0) - math.log(n * (n - 1))
