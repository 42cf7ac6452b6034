"""Decoders from a latent code back to the input: an MLP for tables, a transposed convnet
for images, an MLP to every voxel for 3-D volumes."""

import math

import torch
from torch import nn


class MLPDecoder(nn.Module):
    """``Linear -> BatchNorm -> ReLU`` twice, then a linear output of ``features`` values
    (tabular inputs are standardised, so the output is unbounded).

    Parameters
    ----------
    latent_dim : int
        The code's size.
    features : int
        The output's size.
    hidden : int
        The hidden width.
    """

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
        """The forward pass."""
        return self.layers(z)


class VolumeDecoder(nn.Module):
    """For 3-D volumes (C, D, H, W) in [0, 1]: the MLP decoder to every voxel, reshaped,
    then a sigmoid. (A transposed 3-D convnet would scale better; volumes here are small.)

    Parameters
    ----------
    latent_dim : int
        The code's size.
    volume_shape : tuple of int
        (C, D, H, W).
    hidden : int
        The hidden width.
    """

    def __init__(self, latent_dim: int, volume_shape: tuple[int, ...], hidden: int) -> None:
        super().__init__()
        self.shape = tuple(volume_shape)
        self.mlp = MLPDecoder(latent_dim, math.prod(volume_shape), hidden)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The forward pass."""
        return torch.sigmoid(self.mlp(z)).view(len(z), *self.shape)


class ConvDecoder(nn.Module):
    """The convnet backbone in reverse: ``Linear(latent, hidden)`` -> ``Linear`` to a
    (4w, ceil(H/8), ceil(W/8)) map -> three 4x4 stride-2 transposed convolutions (4w -> 2w ->
    w -> C) -> centre crop to (H, W) -> sigmoid (images are in [0, 1]).

    Parameters
    ----------
    latent_dim : int
        The code's size.
    image_shape : tuple of int
        (C, H, W).
    width : int
        w.
    hidden : int
        The hidden width.
    """

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
        """The forward pass."""
        out = self.layers(self.project(z).view(-1, *self.start))
        top = (out.shape[2] - self.height) // 2
        left = (out.shape[3] - self.width) // 2
        out = out[:, :, top : top + self.height, left : left + self.width]
        return torch.sigmoid(out)


def build_decoder(
    name: str, input_shape: tuple[int, ...], latent_dim: int, width: int = 16, hidden: int = 256
) -> nn.Module:
    """The decoder for inputs of ``input_shape`` encoded by the backbone ``name`` (already
    resolved): :class:`MLPDecoder` for tables, :class:`VolumeDecoder` for volumes (C, D, H,
    W), :class:`ConvDecoder` for images (C, H, W).
    """
    if name == "mlp":
        return MLPDecoder(latent_dim, input_shape[0], hidden)
    if len(input_shape) == 4:
        return VolumeDecoder(latent_dim, input_shape, hidden)
    return ConvDecoder(latent_dim, input_shape, width, hidden)
