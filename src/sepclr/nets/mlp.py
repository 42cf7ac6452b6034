"""Multi-layer perceptron backbone for tabular inputs."""

import torch
from torch import nn


class MLPBackbone(nn.Module):
    """``Linear -> BatchNorm -> ReLU`` blocks; input (n, features), output (n, hidden[-1]).

    Parameters
    ----------
    in_features : int
        The input's features.
    hidden : tuple of int
        The hidden layers' widths.
    """

    def __init__(self, in_features: int, hidden: tuple[int, ...] = (256, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            layers += [nn.Linear(width, size), nn.BatchNorm1d(size), nn.ReLU(inplace=True)]
            width = size
        self.layers = nn.Sequential(*layers)
        self.out_features = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The forward pass."""
        return self.layers(x)
