"""Networks of the contrastive VAE baselines: two Gaussian encoders (common and salient,
each on its own backbone), one decoder from the concatenated codes, and the total-correlation
discriminator."""

import math
from typing import NamedTuple

import torch
from torch import nn

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


class MLPDecoder(nn.Module):
    """``Linear -> BatchNorm -> ReLU`` twice, then a linear output of ``features`` values
    (tabular inputs are standardised, so the output is unbounded)."""

    def __init__(self, latent_dim: int, features: int, hidden: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, features),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)


class VolumeDecoder(nn.Module):
    """For 3-D volumes (C, D, H, W) in [0, 1]: the MLP decoder to every voxel, reshaped,
    then a sigmoid. (A transposed 3-D convnet would scale better; volumes here are small.)"""

    def __init__(self, latent_dim: int, volume_shape: tuple[int, ...], hidden: int) -> None:
        super().__init__()
        self.shape = tuple(volume_shape)
        self.mlp = MLPDecoder(latent_dim, math.prod(volume_shape), hidden)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.mlp(z)).view(len(z), *self.shape)


class ConvDecoder(nn.Module):
    """The convnet backbone in reverse: ``Linear(latent, hidden)`` -> ``Linear`` to a
    (4w, ceil(H/8), ceil(W/8)) map -> three 4x4 stride-2 transposed convolutions (4w -> 2w ->
    w -> C) -> centre crop to (H, W) -> sigmoid (images are in [0, 1])."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, ...], width: int, hidden: int):
        super().__init__()
        channels, self.height, self.width = image_shape
        self.start = (4 * width, math.ceil(self.height / 8), math.ceil(self.width / 8))
        self.project = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, math.prod(self.start)),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        for into, out in ((4 * width, 2 * width), (2 * width, width)):
            layers += [
                nn.ConvTranspose2d(into, out, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1))
        self.layers = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.layers(self.project(z).view(-1, *self.start))
        top = (out.shape[2] - self.height) // 2
        left = (out.shape[3] - self.width) // 2
        out = out[:, :, top : top + self.height, left : left + self.width]
        return torch.sigmoid(out)


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
        latent = common_dim + salient_dim
        self.decoder: nn.Module
        if name == "mlp":
            self.decoder = MLPDecoder(latent, input_shape[0], hidden)
        elif len(input_shape) == 4:
            self.decoder = VolumeDecoder(latent, input_shape, hidden)
        else:
            self.decoder = ConvDecoder(latent, input_shape, width, hidden)

    def forward(self, x: torch.Tensor) -> tuple[Posterior, Posterior]:
        return self.common(x), self.salient(x)


class FactorDiscriminator(nn.Module):
    """The total-correlation discriminator of the SepVAE authors' code: an MLP
    ``d -> d -> d -> 1`` with ReLU on ``z = [z_c, z_s]``, returning logits (n,)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(dim, dim),
            nn.ReLU(inplace=True),
            nn.Linear(dim, dim),
            nn.ReLU(inplace=True),
            nn.Linear(dim, 1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z).squeeze(1)
