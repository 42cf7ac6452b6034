"""Dependence between the salient code of the target rows and the known covariates that a
user names (site, sex, age): the term that keeps them out of the salient space.

For each covariate, the normalised HSIC (Gretton et al., ALT 2005; normalised as in
Kornblith et al., ICML 2019) between a Gaussian kernel on the salient codes (median
bandwidth) and a kernel on the covariate: the delta kernel ``1[z_i = z_j]`` of a categorical
covariate (the Gram matrix of its indicator columns) or a Gaussian kernel (median bandwidth)
on a continuous one. The term is their mean, 0 for independence and 1 at most. The codes of
background rows, held at ``s' = 0`` by the information-less penalty, are left out.
"""

import torch

from sepclr.objectives.redundancy import median_kernel, normalised_hsic
from sepclr.objectives.shard import SINGLE_PROCESS, Shard

# Each covariate's encoded columns and whether it is categorical.
CovariateBlocks = tuple[tuple[slice, bool], ...]


def covariate_dependence(
    s: torch.Tensor,
    covariates: torch.Tensor,
    blocks: CovariateBlocks,
    is_target: torch.Tensor,
    shard: Shard = SINGLE_PROCESS,
) -> torch.Tensor:
    """The mean normalised HSIC between the target rows' salient codes and each covariate
    (all processes' rows with a split batch); 0 with fewer than 3 target rows.

    Parameters
    ----------
    s : Tensor
        The salient codes, (m, d).
    covariates : Tensor
        The encoded covariates of the same rows, (m, width).
    blocks : tuple of (slice, bool)
        Each covariate's columns in ``covariates`` and whether it is categorical.
    is_target : Tensor
        Boolean (m,): the target rows.
    shard : Shard
        This process's rows of a split batch.

    Returns
    -------
    Tensor
        A scalar in [0, 1].
    """
    targets = shard.gather(is_target.to(s.dtype).unsqueeze(1)).squeeze(1) > 0.5
    s_t = shard.gather(s)[targets].float()
    z_t = shard.gather(covariates)[targets].float()
    if len(s_t) < 3:
        return s.sum() * 0.0
    K = median_kernel(s_t)
    scores = []
    for columns, categorical in blocks:
        z = z_t[:, columns]
        L = z @ z.T if categorical else median_kernel(z)
        scores.append(normalised_hsic(K, L))
    return torch.stack(scores).mean()


def linear_erasure(
    s: torch.Tensor, covariates: torch.Tensor, tolerance: float = 1e-6
) -> torch.Tensor:
    """The linear map that erases every linear trace of the covariates from codes: the
    linear part of LEACE (Belrose et al., NeurIPS 2023, Theorem 4.3), fitted on rows ``s``
    with encoded covariates ``covariates``.

    ``E = I - W P W^+`` with ``W = Sigma^{-1/2}`` the whitening of the centred codes
    (eigenvalues below ``tolerance`` times the largest left out) and ``P`` the orthogonal
    projection onto the column space of ``W Sigma_sz``. The erased codes ``s E`` have no
    covariance with any covariate column, so no linear probe reads the covariates from them
    better than from a constant, and ``0 E = 0``: a code at ``s' = 0`` stays there. Among
    the maps that erase, it moves the whitened codes least.

    Parameters
    ----------
    s : Tensor
        Codes, (n, d).
    covariates : Tensor
        The rows' encoded covariates, (n, p).
    tolerance : float
        Relative floor of the eigenvalues of the codes' covariance.

    Returns
    -------
    Tensor
        ``E``, (d, d): erased codes are ``s @ E``.
    """
    s, z = s.double(), covariates.double()
    s_c, z_c = s - s.mean(0), z - z.mean(0)
    covariance = s_c.T @ s_c / len(s)
    values, vectors = torch.linalg.eigh(covariance)
    kept = values > tolerance * values.max().clamp_min(1e-300)
    root = vectors[:, kept] * values[kept].sqrt()
    whiten = (vectors[:, kept] / values[kept].sqrt()) @ vectors[:, kept].T
    unwhiten = root @ vectors[:, kept].T
    cross = whiten @ (s_c.T @ z_c / len(s))
    u, singular, _ = torch.linalg.svd(cross, full_matrices=False)
    basis = u[:, singular > tolerance * singular.max().clamp_min(1e-300)]
    eye = torch.eye(s.shape[1], dtype=s.dtype, device=s.device)
    return (eye - whiten @ basis @ basis.T @ unwhiten).float()
