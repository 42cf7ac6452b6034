"""Small strided convolutional backbone for images of 16 pixels and more."""

import torch
from torch import nn


class ConvNetBackbone(nn.Module):
    """Three stride-2 convolutions (4x4, 4x4, 3x3; widths w, 2w, 4w) with BatchNorm and ReLU,
    then an adaptive average pool to 4x4 and a flatten.

    A 28x28 input becomes 14x14, 7x7, 4x4; any input of at least 16x16 pixels and any channel
    count works. Output: (n, 64 w). Input: (n, C, H, W). With ``spatial_dims=3``: volumes
    (n, C, D, H, W), 3-D convolutions, pooled to 2x2x2, output (n, 32 w).

    Parameters
    ----------
    in_channels : int
        C.
    width : int
        w.
    spatial_dims : {2, 3}
        Images or volumes.
    """

    min_size = 16

    def __init__(self, in_channels: int, width: int = 16, spatial_dims: int = 2) -> None:
        super().__init__()
        conv, norm, pool = {
            2: (nn.Conv2d, nn.BatchNorm2d, nn.AdaptiveAvgPool2d),
            3: (nn.Conv3d, nn.BatchNorm3d, nn.AdaptiveAvgPool3d),
        }[spatial_dims]
        widths = (width, 2 * width, 4 * width)
        kernels = (4, 4, 3)
        layers: list[nn.Module] = []
        channels = in_channels
        for out, k in zip(widths, kernels, strict=True):
            layers += [
                conv(channels, out, k, stride=2, padding=1, bias=False),
                norm(out),
                nn.ReLU(inplace=True),
            ]
            channels = out
        side = 4 if spatial_dims == 2 else 2
        layers += [pool(side), nn.Flatten()]
        self.layers = nn.Sequential(*layers)
        self.out_features = channels * side**spatial_dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The forward pass."""
        return self.layers(x)
