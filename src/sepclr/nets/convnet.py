"""Small strided convolutional backbone for images of 16 pixels and more."""

import torch
from torch import nn


class ConvNetBackbone(nn.Module):
    """Three stride-2 convolutions (4x4, 4x4, 3x3; widths w, 2w, 4w) with BatchNorm and ReLU,
    then an adaptive average pool to 4x4 and a flatten.

    A 28x28 input becomes 14x14, 7x7, 4x4; any input of at least 16x16 pixels and any channel
    count works. Output: (n, 64 w). Input: (n, C, H, W).
    """

    min_size = 16

    def __init__(self, in_channels: int, width: int = 16) -> None:
        super().__init__()
        widths = (width, 2 * width, 4 * width)
        kernels = (4, 4, 3)
        layers: list[nn.Module] = []
        channels = in_channels
        for out, k in zip(widths, kernels, strict=True):
            layers += [
                nn.Conv2d(channels, out, k, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            channels = out
        layers += [nn.AdaptiveAvgPool2d(4), nn.Flatten()]
        self.layers = nn.Sequential(*layers)
        self.out_features = channels * 16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
