"""Loss terms of the contrastive VAE baselines (CVAE, ConVAE, MM-cVAE, SepVAE).

All terms are sums over the samples they are given (and over latent dimensions or input
features), as in the SepVAE authors' code (their ``sep_vae`` repository), so that the
published weights keep their meaning. Tensors are (n, d).
"""

import torch
import torch.nn.functional as F


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """A sample ``mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)`` (Kingma & Welling 2014)."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``sum_i KL(N(mu_i, diag exp logvar_i) || N(0, I))
    = sum_i sum_d (mu^2 + exp(logvar) - logvar - 1) / 2`` (Kingma & Welling 2014,
    appendix B)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum()


def narrow_prior_mean_penalty(mu: torch.Tensor, precision: float) -> torch.Tensor:
    """``sum_i precision * |mu_i|^2 / 2``: the mean part of ``KL(N(mu, s^2) || N(0, 1 /
    precision))``. SepVAE (Louiset et al. 2023) pulls the background salient code towards 0
    with it; its posterior variance there is fixed, so the variance part is constant."""
    return 0.5 * precision * mu.pow(2).sum()


def sum_squared_error(reconstruction: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``sum_i |x_i - x_hat_i|^2`` over samples and features (Gaussian likelihood with unit
    variance, up to a constant), as in the SepVAE authors' code."""
    return F.mse_loss(reconstruction, x, reduction="sum")


def shuffled_marginals(common: torch.Tensor, salient: torch.Tensor) -> torch.Tensor:
    """Samples of the product of marginals ``q(z_c) q(z_s)``: ``[z_c,i, z_s,i+1]``, the
    salient codes rolled by one position in the batch (the permutation of Kim & Mnih 2018,
    as the SepVAE authors' code draws it)."""
    return torch.cat([common, salient.roll(-1, dims=0)], dim=1)


def tc_penalty(joint_logits: torch.Tensor) -> torch.Tensor:
    """Total-correlation penalty on the encoder: ``sum_i ReLU(log D(z_i) / (1 - D(z_i)))``
    with ``D = sigmoid(logit)`` the discriminator's probability that ``z_i`` is a joint
    sample, so ``log D / (1 - D)`` is its logit: the density-ratio estimate of
    ``log q(z) / (q(z_c) q(z_s))`` (Kim & Mnih 2018; Abid & Zou 2019), clipped at 0 as in
    the SepVAE authors' code."""
    return F.relu(joint_logits).sum()


def discriminator_loss(joint_logits: torch.Tensor, marginal_logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy (sum) of the TC discriminator: joint samples labelled 1,
    product-of-marginals samples labelled 0 (Kim & Mnih 2018)."""
    ones, zeros = torch.ones_like(joint_logits), torch.zeros_like(marginal_logits)
    return F.binary_cross_entropy_with_logits(
        joint_logits, ones, reduction="sum"
    ) + F.binary_cross_entropy_with_logits(marginal_logits, zeros, reduction="sum")
