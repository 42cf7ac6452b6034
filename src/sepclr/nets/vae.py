"""Networks of the contrastive VAE baselines: two Gaussian encoders (common and salient,
each on its own backbone) and one decoder from the concatenated codes."""

from typing import NamedTuple

import torch
from torch import nn

from sepclr.nets.decoders import build_decoder
from sepclr.nets.encoder import build_backbone


class Posterior(NamedTuple):
    """A diagonal Gaussian posterior.

    Parameters
    ----------
    mu : Tensor
        The means.
    logvar : Tensor
        The log-variances.
    """

    mu: torch.Tensor
    logvar: torch.Tensor


class VAEPass(NamedTuple):
    """One pass of a batch: both posteriors, the sampled codes and the decoded batch.

    Parameters
    ----------
    common, salient : Posterior
        The posteriors.
    z_c, z_s : Tensor
        The sampled codes.
    decoded : Tensor
        The decoded batch.
    """

    common: Posterior
    salient: Posterior
    z_c: torch.Tensor
    z_s: torch.Tensor
    decoded: torch.Tensor


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """A sample ``mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)`` (Kingma & Welling 2014)."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


class GaussianEncoder(nn.Module):
    """``backbone`` (a module and its output features) -> ``Linear(features, hidden)`` -> ReLU
    -> mean and log-variance heads of size ``dim``."""

    def __init__(self, backbone: tuple[nn.Module, int], dim: int, hidden: int) -> None:
        super().__init__()
        self.backbone, features = backbone
        self.hidden = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(inplace=True))
        self.mu = nn.Linear(hidden, dim)
        self.logvar = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> Posterior:
        """The forward pass."""
        h = self.hidden(self.backbone(x))
        return Posterior(self.mu(h), self.logvar(h))


class ContrastiveVAENet(nn.Module):
    """Common and salient Gaussian encoders and a decoder of ``[z_c, z_s]``, conditioned on
    the encoded covariates when the model has them (``[z_c, z_s, covariates]``, as scVI
    conditions its decoder on batches).

    Parameters
    ----------
    hidden : int
        The fully connected layers' width.
    covariate_width : int
        The number of encoded covariate columns the decoder reads (0: none).
    """

    def __init__(
        self,
        backbone: str,
        input_shape: tuple[int, ...],
        common_dim: int,
        salient_dim: int,
        width: int = 16,
        hidden: int = 256,
        covariate_width: int = 0,
    ) -> None:
        super().__init__()
        self.common = GaussianEncoder(
            build_backbone(backbone, input_shape, width), common_dim, hidden
        )
        self.salient = GaussianEncoder(
            build_backbone(backbone, input_shape, width), salient_dim, hidden
        )
        codes = common_dim + salient_dim + covariate_width
        self.decoder = build_decoder(backbone, input_shape, codes, width, hidden)

    def encode(self, x: torch.Tensor) -> tuple[Posterior, Posterior]:
        """The common and salient posteriors of ``x``."""
        return self.common(x), self.salient(x)

    def forward(
        self, x: torch.Tensor, is_target: torch.Tensor, covariates: torch.Tensor | None = None
    ) -> VAEPass:
        """Encode ``x``, sample both codes and decode ``[z_c, z_s]`` (and the covariates) with
        the salient code of background rows at 0.
        """
        common, salient = self.encode(x)
        z_c = reparameterise(common.mu, common.logvar)
        z_s = reparameterise(salient.mu, salient.logvar)
        codes = [z_c, z_s * is_target[:, None]]
        decoded = self.decoder(torch.cat(codes if covariates is None else [*codes, covariates], 1))
        return VAEPass(common, salient, z_c, z_s, decoded)
