"""ResNet-18 (He, Zhang, Ren, Sun; CVPR 2016), the backbone of the paper's experiments,
written here because torchvision's CPU build does not import beside every torch build."""

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BatchNorm, plus the identity (or a strided 1x1 projection
    when the shape changes); ReLU after the sum."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResNet18Backbone(nn.Module):
    """ResNet-18 without its classifier: a stem, four stages of two basic blocks (widths
    4w, 8w, 16w, 32w, i.e. 64 ... 512 at the default w = 16; stride 2 from the second stage
    on), global average pooling. Output: (n, 32 w).

    Stem: for images under 64 pixels the CIFAR stem (one 3x3 convolution, stride 1, no max
    pooling), as the paper's code uses for 32x32 images; from 64 pixels on the ImageNet stem
    (7x7 convolution, stride 2, then 3x3 max pooling, stride 2). Input: (n, C, H, W) with
    H, W >= 16.
    """

    min_size = 16
    cifar_stem_below = 64

    def __init__(self, in_channels: int, image_size: int, width: int = 16) -> None:
        super().__init__()
        widths = (4 * width, 8 * width, 16 * width, 32 * width)
        if image_size < self.cifar_stem_below:
            stem: list[nn.Module] = [
                nn.Conv2d(in_channels, widths[0], 3, stride=1, padding=1, bias=False)
            ]
        else:
            stem = [nn.Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False)]
        stem += [nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
        if image_size >= self.cifar_stem_below:
            stem.append(nn.MaxPool2d(3, stride=2, padding=1))
        stages: list[nn.Module] = []
        channels = widths[0]
        for index, out in enumerate(widths):
            stride = 1 if index == 0 else 2
            stages += [BasicBlock(channels, out, stride), BasicBlock(out, out, 1)]
            channels = out
        self.layers = nn.Sequential(*stem, *stages, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out_features = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
