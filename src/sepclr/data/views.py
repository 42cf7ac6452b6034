"""Random views (augmentations) for contrastive training, applied to whole batches with
per-sample random parameters: kornia for images, noise and feature dropout for tabular data."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import kornia.augmentation as K
import torch
from torch import nn


@dataclass(frozen=True)
class ImageViewOptions:
    """Image views: random resized crop, flips, rotation, colour jitter, grayscale, blur,
    noise.

    ``crop_scale`` is the range of the crop's area fraction, ``crop_ratio`` its aspect-ratio
    range; ``hflip``, ``vflip`` and ``jitter_p`` are probabilities; ``rotation`` the largest
    angle in degrees (applied with probability ``rotation_p``); ``brightness`` is the largest
    additive shift, ``contrast`` and ``saturation`` the largest relative changes, ``hue`` the
    largest hue shift (in turns, at most 0.5); ``grayscale_p`` the probability of turning a
    colour view grey (saturation, hue and grayscale act on 3-channel images only);
    ``noise_std`` the standard deviation of additive Gaussian noise (images in [0, 1]);
    ``blur_p`` the probability of a Gaussian blur with a standard deviation drawn in
    ``blur_sigma`` (pixels). Flips are off by default: a mirrored digit or letter is another
    symbol, and on digits-on-fashion turning them off measured better
    (``benchmarks/results/tuning.md``). The paper's recipes (:mod:`sepclr.presets`) use the
    colour and rotation options.
    """

    crop_scale: tuple[float, float] = (0.7, 1.0)
    crop_ratio: tuple[float, float] = (0.8, 1.25)
    hflip: float = 0.0
    vflip: float = 0.0
    rotation: float = 0.0
    rotation_p: float = 0.5
    brightness: float = 0.2
    contrast: float = 0.4
    saturation: float = 0.0
    hue: float = 0.0
    jitter_p: float = 0.8
    grayscale_p: float = 0.0
    noise_std: float = 0.03
    blur_p: float = 0.0
    blur_sigma: tuple[float, float] = (0.5, 1.5)


@dataclass(frozen=True)
class TabularViewOptions:
    """Tabular views: additive Gaussian noise (in units of standardised features) and feature
    dropout (each feature set to 0, its mean after standardisation, with this probability)."""

    noise_std: float = 0.1
    feature_dropout: float = 0.1


ViewOptions = ImageViewOptions | TabularViewOptions


def view_options(kind: str, overrides: Mapping[str, Any] | None = None) -> ViewOptions:
    """Default options for ``kind`` ("image" or "tabular") with ``overrides`` applied.

    Unknown option names raise ``ValueError`` listing the valid ones.
    """
    defaults: ViewOptions = ImageViewOptions() if kind == "image" else TabularViewOptions()
    overrides = dict(overrides or {})
    valid = {f.name for f in fields(defaults)}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise ValueError(
            f"unknown view option(s) {unknown} for {kind} data; valid: {sorted(valid)}"
        )
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    return type(defaults)(**{**asdict(defaults), **converted})


def options_as_dict(options: ViewOptions) -> dict[str, Any]:
    """JSON-friendly dict of view options."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(options).items()}


class ImageViews(nn.Module):
    """Batched image augmentation; input and output (n, C, H, W) floats in [0, 1]."""

    def __init__(
        self, image_size: tuple[int, int], options: ImageViewOptions, channels: int = 1
    ) -> None:
        super().__init__()
        o = options
        colour = channels == 3
        steps: list[nn.Module] = [
            K.RandomResizedCrop(image_size, scale=o.crop_scale, ratio=o.crop_ratio),
        ]
        if o.hflip > 0:
            steps.append(K.RandomHorizontalFlip(p=o.hflip))
        if o.vflip > 0:
            steps.append(K.RandomVerticalFlip(p=o.vflip))
        if o.rotation > 0:
            steps.append(K.RandomRotation(o.rotation, p=o.rotation_p))
        saturation, hue = (o.saturation, o.hue) if colour else (0.0, 0.0)
        if o.brightness > 0 or o.contrast > 0 or saturation > 0 or hue > 0:
            steps.append(K.ColorJiggle(o.brightness, o.contrast, saturation, hue, p=o.jitter_p))
        if colour and o.grayscale_p > 0:
            steps.append(K.RandomGrayscale(p=o.grayscale_p))
        if o.blur_p > 0:
            steps.append(K.RandomGaussianBlur((5, 5), o.blur_sigma, p=o.blur_p))
        if o.noise_std > 0:
            steps.append(K.RandomGaussianNoise(std=o.noise_std, p=1.0))
        self.steps = nn.Sequential(*steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.steps(x).clamp(0.0, 1.0)


class TabularViews(nn.Module):
    """Gaussian noise plus feature dropout; input and output (n, features), standardised."""

    def __init__(self, options: TabularViewOptions) -> None:
        super().__init__()
        self.noise_std = options.noise_std
        self.feature_dropout = options.feature_dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x + self.noise_std * torch.randn_like(x)
        if self.feature_dropout > 0:
            keep = torch.rand_like(x) >= self.feature_dropout
            out = out * keep
        return out


def build_views(options: ViewOptions, sample_shape: tuple[int, ...]) -> nn.Module:
    """The view module for ``options``; ``sample_shape`` is (features,) or (C, H, W)."""
    if isinstance(options, ImageViewOptions):
        return ImageViews((sample_shape[1], sample_shape[2]), options, sample_shape[0])
    return TabularViews(options)
