"""Loss terms of the contrastive VAE baselines (CVAE, ConVAE, MM-cVAE, SepVAE); their
total-correlation term is :class:`sepclr.objectives.critics.TotalCorrelation`.

All terms are sums over the samples they are given (and over latent dimensions or input
features), as in the SepVAE authors' code (their ``sep_vae`` repository), so that the
published weights keep their meaning. Tensors are (n, d).
"""

import torch
import torch.nn.functional as F


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``sum_i KL(N(mu_i, diag exp logvar_i) || N(0, I))
    = sum_i sum_d (mu^2 + exp(logvar) - logvar - 1) / 2`` (Kingma & Welling 2014,
    appendix B).
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum()


def narrow_prior_mean_penalty(mu: torch.Tensor, precision: float) -> torch.Tensor:
    """``sum_i precision * |mu_i|^2 / 2``: the mean part of ``KL(N(mu, s^2) || N(0, 1 /
    precision))``. SepVAE (Louiset et al. 2023) pulls the background salient code towards 0
    with it; its posterior variance there is fixed, so the variance part is constant.
    """
    return 0.5 * precision * mu.pow(2).sum()


def sum_squared_error(reconstruction: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``sum_i |x_i - x_hat_i|^2`` over samples and features (Gaussian likelihood with unit
    variance, up to a constant), as in the SepVAE authors' code.
    """
    return F.mse_loss(reconstruction, x, reduction="sum")
