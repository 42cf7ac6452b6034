"""ResNet-18 (He, Zhang, Ren, Sun; CVPR 2016), the backbone of the paper's experiments,
written here because torchvision's CPU build does not import beside every torch build; the
same network with 3-D convolutions for volumes (as in 3-D ResNets for brain MRI)."""

import torch
from torch import nn

# spatial dims -> (convolution, batch norm, max pool, adaptive average pool)
LAYERS: dict[int, tuple[type[nn.Module], ...]] = {
    2: (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d),
    3: (nn.Conv3d, nn.BatchNorm3d, nn.MaxPool3d, nn.AdaptiveAvgPool3d),
}


class BasicBlock(nn.Module):
    """Two 3x3 (3x3x3) convolutions with BatchNorm, plus the identity (or a strided 1x1
    projection when the shape changes); ReLU after the sum.

    Parameters
    ----------
    in_channels, out_channels : int
        The widths.
    stride : int
        The first convolution's stride.
    spatial_dims : {2, 3}
        Images or volumes.
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, spatial_dims: int = 2
    ) -> None:
        super().__init__()
        conv, norm = LAYERS[spatial_dims][:2]
        self.body = nn.Sequential(
            conv(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            norm(out_channels),
            nn.ReLU(inplace=True),
            conv(out_channels, out_channels, 3, padding=1, bias=False),
            norm(out_channels),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                conv(in_channels, out_channels, 1, stride=stride, bias=False),
                norm(out_channels),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The forward pass."""
        return self.relu(self.body(x) + self.shortcut(x))


class ResNet18Backbone(nn.Module):
    """ResNet-18 without its classifier: a stem, four stages of two basic blocks (widths
    4w, 8w, 16w, 32w, i.e. 64 ... 512 at the default w = 16; stride 2 from the second stage
    on), global average pooling. Output: (n, 32 w).

    Stem: for images under 64 pixels the CIFAR stem (one 3x3 convolution, stride 1, no max
    pooling), as the paper's code uses for 32x32 images; from 64 pixels on the ImageNet stem
    (7x7 convolution, stride 2, then 3x3 max pooling, stride 2). Input: (n, C, H, W) with
    H, W >= 16; with ``spatial_dims=3``, volumes (n, C, D, H, W) and 3x3x3 convolutions.

    Parameters
    ----------
    in_channels : int
        C.
    image_size : int
        The smaller side, which chooses the stem.
    width : int
        w.
    spatial_dims : {2, 3}
        Images or volumes.
    """

    min_size = 16
    cifar_stem_below = 64

    def __init__(
        self, in_channels: int, image_size: int, width: int = 16, spatial_dims: int = 2
    ) -> None:
        super().__init__()
        conv, norm, max_pool, average_pool = LAYERS[spatial_dims]
        widths = (4 * width, 8 * width, 16 * width, 32 * width)
        if image_size < self.cifar_stem_below:
            stem: list[nn.Module] = [
                conv(in_channels, widths[0], 3, stride=1, padding=1, bias=False)
            ]
        else:
            stem = [conv(in_channels, widths[0], 7, stride=2, padding=3, bias=False)]
        stem += [norm(widths[0]), nn.ReLU(inplace=True)]
        if image_size >= self.cifar_stem_below:
            stem.append(max_pool(3, stride=2, padding=1))
        stages: list[nn.Module] = []
        channels = widths[0]
        for index, out in enumerate(widths):
            stride = 1 if index == 0 else 2
            stages += [
                BasicBlock(channels, out, stride, spatial_dims),
                BasicBlock(out, out, 1, spatial_dims),
            ]
            channels = out
        self.layers = nn.Sequential(*stem, *stages, average_pool(1), nn.Flatten())
        self.out_features = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The forward pass."""
        return self.layers(x)
