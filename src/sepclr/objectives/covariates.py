"""Erasing known covariates (site, sex, age) from codes: the closed-form linear erasure of
LEACE (Belrose et al., NeurIPS 2023), by which a model named covariates keeps no linear trace
of them in its salient code."""

import torch


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
