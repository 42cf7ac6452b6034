"""Networks of the contrastive VAE baselines: two Gaussian encoders (common and salient,
each on its own backbone) and one decoder from the concatenated codes."""

from typing import NamedTuple

import torch
from torch import nn

from sepclr.nets.decoders import build_decoder
from sepclr.nets.encoder import build_backbone, resolve_backbone


class Posterior(NamedTuple):
    mu: torch.Tensor
    logvar: torch.Tensor


class GaussianEncoder(nn.Module):
    """Backbone -> ``Linear(features, hidden)`` -> ReLU -> mean and log-variance heads."""

    def __init__(self, backbone: tuple[nn.Module, int], dim: int, hidden: int) -> None:
        super().__init__()
        self.backbone, features = backbone
        self.hidden = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(inplace=True))
        self.mu = nn.Linear(hidden, dim)
        self.logvar = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> Posterior:
        h = self.hidden(self.backbone(x))
        return Posterior(self.mu(h), self.logvar(h))


class ContrastiveVAENet(nn.Module):
    """Common and salient Gaussian encoders and a decoder of ``[z_c, z_s]``."""

    def __init__(
        self,
        backbone: str,
        input_shape: tuple[int, ...],
        common_dim: int,
        salient_dim: int,
        width: int = 16,
        hidden: int = 256,
    ) -> None:
        super().__init__()
        name = resolve_backbone(backbone, input_shape)
        self.common = GaussianEncoder(build_backbone(name, input_shape, width), common_dim, hidden)
        self.salient = GaussianEncoder(
            build_backbone(name, input_shape, width), salient_dim, hidden
        )
        self.decoder = build_decoder(name, input_shape, common_dim + salient_dim, width, hidden)

    def forward(self, x: torch.Tensor) -> tuple[Posterior, Posterior]:
        return self.common(x), self.salient(x)
