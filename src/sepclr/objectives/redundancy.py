"""Redundancy between the common code ``c`` and the salient code ``s`` of the target rows.

The salient space should hold what the targets do not share with the backgrounds, so a
target's salient code should carry nothing that its common code already carries. k-JEM
(joint entropy) does not see that redundancy: H(c, s) is the same whether ``s`` holds the
salient factor alone or the salient factor and a copy of a common one. These penalties
measure it directly on the target rows of a batch, each between 0 (no redundancy) and 1:

- ``explained-variance``: the fraction of the salient variance that a ridge regression on
  ``c`` explains (an R^2);
- ``cca``: the mean squared canonical correlation between ``c`` and ``s`` (ridge-regularised
  on both sides), invariant to any invertible linear map of either code;
- ``linear-hsic``: the normalised linear HSIC, or linear CKA (Kornblith et al., ICML 2019),
  ``|C^T S|_F^2 / (|C^T C|_F |S^T S|_F)`` on centred codes;
- ``kernel-hsic``: the normalised HSIC with Gaussian kernels (Gretton et al., ALT 2005;
  normalised as in Kornblith et al.), each kernel's bandwidth the median pairwise distance.

The common code enters as a constant (no gradient): the penalty moves the salient encoder
away from what the common encoder has learned, not the other way round.
"""

import torch

from sepclr.engine.shard import SINGLE_PROCESS, Shard
from sepclr.objectives.kernels import pairwise_sq_distances

REDUNDANCY_TERMS = ("none", "explained-variance", "cca", "linear-hsic", "kernel-hsic")


def _centred(x: torch.Tensor) -> torch.Tensor:
    return x - x.mean(dim=0, keepdim=True)


def _ridge(cov: torch.Tensor, ridge: float) -> torch.Tensor:
    """``cov + ridge * (trace(cov) / d) * I``: a ridge relative to the mean variance, so the
    regularisation does not depend on the scale of the code (plus a floor for a zero code)."""
    d = cov.shape[0]
    scale = torch.trace(cov).detach() / d + 1e-8
    return cov + ridge * scale * torch.eye(d, dtype=cov.dtype, device=cov.device)


def explained_variance(c: torch.Tensor, s: torch.Tensor, ridge: float = 0.1) -> torch.Tensor:
    """R^2 of the ridge regression of ``s`` on ``c``:
    ``1 - |S - C B|_F^2 / |S|_F^2`` with ``B = (C^T C + r I)^{-1} C^T S`` on centred rows,
    ``r = ridge * mean variance of c``. Shapes (m, d_c), (m, d_s); m >= 2.
    """
    C, S = _centred(c), _centred(s)
    coef = torch.linalg.solve(_ridge(C.T @ C, ridge), C.T @ S)
    residual = S - C @ coef
    return 1.0 - residual.pow(2).sum() / (S.pow(2).sum() + 1e-12)


def cca(c: torch.Tensor, s: torch.Tensor, ridge: float = 0.1) -> torch.Tensor:
    """Mean squared canonical correlation,
    ``trace(S_ss^{-1} S_sc S_cc^{-1} S_cs) / d_s`` with ridge-regularised covariances
    (``S_xx + ridge * mean variance * I``). Shapes (m, d_c), (m, d_s); m >= 2.
    """
    C, S = _centred(c), _centred(s)
    cross = C.T @ S
    regression = torch.linalg.solve(_ridge(C.T @ C, ridge), cross)  # (d_c, d_s)
    return (
        torch.trace(torch.linalg.solve(_ridge(S.T @ S, ridge), cross.T @ regression)) / s.shape[1]
    )


def linear_hsic(c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Normalised linear HSIC (linear CKA), ``|C^T S|_F^2 / (|C^T C|_F |S^T S|_F)`` on centred
    rows. Shapes (m, d_c), (m, d_s).
    """
    C, S = _centred(c), _centred(s)
    cross = (C.T @ S).pow(2).sum()
    return cross / ((C.T @ C).pow(2).sum().sqrt() * (S.T @ S).pow(2).sum().sqrt() + 1e-12)


def median_kernel(x: torch.Tensor) -> torch.Tensor:
    """Gaussian kernel matrix ``exp(-|x_i - x_j|^2 / (2 sigma^2))``, sigma^2 the (lower)
    median of the off-diagonal squared distances, a constant.
    """
    distances = pairwise_sq_distances(x)
    off = ~torch.eye(len(x), dtype=torch.bool, device=x.device)
    sigma2 = distances[off].median().detach().clamp_min(1e-12)
    return torch.exp(-distances / (2.0 * sigma2))


def normalised_hsic(K: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """The normalised HSIC of two kernel matrices, ``<HKH, HLH> / (|HKH|_F |HLH|_F)`` with
    ``H`` the centring matrix (Gretton et al., ALT 2005; normalised as in Kornblith et al.,
    ICML 2019); 0 when either kernel is constant.
    """
    Kc = _centred(_centred(K).T)
    Lc = _centred(_centred(L).T)
    return (Kc * Lc).sum() / (Kc.pow(2).sum().sqrt() * Lc.pow(2).sum().sqrt() + 1e-12)


def kernel_hsic(c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Normalised HSIC with Gaussian kernels of median bandwidth,
    ``<HKH, HLH> / (|HKH|_F |HLH|_F)`` with ``H`` the centring matrix. Shapes (m, d_c),
    (m, d_s); m >= 2.
    """
    return normalised_hsic(median_kernel(c), median_kernel(s))


def principal_directions(x: torch.Tensor, kept_variance: float) -> torch.Tensor:
    """The leading principal directions of the rows of ``x`` (d, k), the fewest that explain
    ``kept_variance`` of their variance.
    """
    centred = _centred(x)
    variances, directions = torch.linalg.eigh(centred.T @ centred)
    variances, directions = variances.flip(0), directions.flip(1)
    share = torch.cumsum(variances, 0) / variances.sum().clamp_min(1e-12)
    keep = min(int((share < kept_variance).sum()) + 1, x.shape[1])
    return directions[:, :keep]


def redundancy(
    name: str,
    c: torch.Tensor,
    s: torch.Tensor,
    is_target: torch.Tensor,
    shard: Shard = SINGLE_PROCESS,
) -> torch.Tensor:
    """The redundancy penalty ``name`` (one of :data:`REDUNDANCY_TERMS`) between ``c``
    (detached here) and ``s`` over the target rows of the batch (all processes' rows with a
    split batch). Returns 0 when fewer than 3 target rows are in the batch.
    """
    if name not in REDUNDANCY_TERMS:
        raise ValueError(f"unknown redundancy term {name!r}; choose one of {REDUNDANCY_TERMS}")
    targets = shard.gather(is_target.to(s.dtype).unsqueeze(1)).squeeze(1) > 0.5
    c_t = shard.gather(c.detach())[targets]
    s_t = shard.gather(s)[targets]
    if name == "none" or len(s_t) < 3:
        return s.sum() * 0.0
    c_t, s_t = c_t.float(), s_t.float()
    if name == "explained-variance":
        return explained_variance(c_t, s_t)
    if name == "cca":
        return cca(c_t, s_t)
    if name == "linear-hsic":
        return linear_hsic(c_t, s_t)
    return kernel_hsic(c_t, s_t)


def linear_residual(
    x: torch.Tensor,
    y: torch.Tensor,
    x_background: torch.Tensor | None = None,
    kept_variance: float = 0.9,
    ridge: float = 1e-3,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Coefficients ``A`` and offset ``m`` such that ``y - (x - m) A`` is the part of ``y``
    that no linear function of ``x`` predicts on these (target) rows.

    ``A = U B`` with ``B`` the ridge regression of the centred ``y`` on the centred
    ``z = x U`` (ridge relative to the mean variance of ``z``). Without ``x_background``,
    ``U = I`` and ``m`` is the mean of ``x``. With the backgrounds' codes ``x_background``,
    ``U`` holds their leading principal directions, those that explain ``kept_variance`` of
    their variance (1 keeps them all), and ``m`` is their mean: only what varies among
    backgrounds counts as common, so a target-only factor that has leaked into ``x`` along
    directions the backgrounds do not use is not removed from ``y``, and background rows keep
    the mean they had. Shapes: ``x`` (m, d_x), ``y`` (m, d_y), ``x_background`` (k, d_x) ->
    ``A`` (d_x, d_y), ``m`` (d_x,).
    """
    x, y = x.double(), y.double()
    basis = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    offset = x.mean(dim=0)
    if x_background is not None:
        offset = x_background.double().mean(dim=0)
        basis = principal_directions(x_background.double(), kept_variance)
    Z, Y = _centred(x @ basis), _centred(y)
    coef = basis @ torch.linalg.solve(_ridge(Z.T @ Z, ridge), Z.T @ Y)
    return coef.float(), offset.float()
