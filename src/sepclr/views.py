"""Random views (augmentations) for contrastive training, applied to whole batches with
per-sample random parameters: kornia for images, an affine resampling, flips, intensity and
noise for 3-D volumes, noise and feature dropout for tabular data."""

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import kornia.augmentation as K
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ImageViewOptions:
    """Image views: random resized crop, flips, rotation, colour jitter, grayscale, blur, noise.

    Flips are off by default: a mirrored digit or letter is another symbol
    (``benchmarks/README.md`` compares both). The paper's recipes (:mod:`sepclr.recipes`) use
    the colour and rotation options.

    Parameters
    ----------
    crop_scale : tuple of 2 float
        The range of the crop's area fraction.
    crop_ratio : tuple of 2 float
        The range of its aspect ratio.
    hflip, vflip : float
        The probabilities of a horizontal and a vertical flip.
    rotation : float
        The largest rotation, in degrees.
    rotation_p : float
        The probability of a rotation.
    brightness : float
        The largest additive brightness shift.
    contrast, saturation : float
        The largest relative changes of contrast and saturation.
    hue : float
        The largest hue shift, in turns (at most 0.5).
    jitter_p : float
        The probability of the colour jitter.
    grayscale_p : float
        The probability of turning a colour view grey (saturation, hue and grayscale act on
        3-channel images only).
    noise_std : float
        The standard deviation of additive Gaussian noise (images in [0, 1]).
    blur_p : float
        The probability of a Gaussian blur.
    blur_sigma : tuple of 2 float
        The range of its standard deviation, in pixels.
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
    """Tabular views: additive Gaussian noise and feature dropout.

    Parameters
    ----------
    noise_std : float
        The noise's standard deviation, in units of standardised features.
    feature_dropout : float
        The probability of setting a feature to 0, its mean after standardisation.
    """

    noise_std: float = 0.1
    feature_dropout: float = 0.1


@dataclass(frozen=True)
class VolumeViewOptions:
    """3-D views: a random affine map per volume, flips, intensity changes and noise.

    Flips are off by default: brains are not left-right symmetric in what a study looks for.

    Parameters
    ----------
    zoom : tuple of 2 float
        The range of the zoom: a crop of that fraction of each side resampled to the full size.
    shift : float
        The largest translation, as a fraction of the half-width.
    rotation : float
        The largest rotation about each axis, in degrees.
    flip : float
        The probability of a flip along each axis.
    intensity : float
        The largest relative scaling of the intensities (and half of it as a relative shift).
    noise_std : float
        The standard deviation of additive Gaussian noise.
    """

    zoom: tuple[float, float] = (0.85, 1.0)
    shift: float = 0.05
    rotation: float = 5.0
    flip: float = 0.0
    intensity: float = 0.1
    noise_std: float = 0.02


ViewOptions = ImageViewOptions | TabularViewOptions | VolumeViewOptions


def view_options(kind: str, overrides: Mapping[str, Any] | None = None) -> ViewOptions:
    """The default view options of a kind of data, with overrides."""
    kinds: dict[str, type[ViewOptions]] = {
        "image": ImageViewOptions,
        "volume": VolumeViewOptions,
        "tabular": TabularViewOptions,
    }
    defaults: ViewOptions = kinds[kind]()
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
    """View options as a JSON-friendly dict."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(options).items()}


class ImageViews(nn.Module):
    """Batched image augmentation; input and output (n, C, H, W) floats in [0, 1]. The
    random resized crop is one affine resampling of the whole batch (kornia's ``resample``
    mode), not a crop and a resize per image: on a CPU 1.4x faster for 512 28x28 images and
    2.1x for 128 32x32 colour images (``benchmarks/throughput.py``), and one kernel rather
    than one per image on a GPU.

    Parameters
    ----------
    image_size : tuple of 2 int
        (H, W).
    options : ImageViewOptions
        The views' options.
    channels : int
        C.
    """

    def __init__(
        self, image_size: tuple[int, int], options: ImageViewOptions, channels: int = 1
    ) -> None:
        super().__init__()
        o = options
        colour = channels == 3
        steps: list[nn.Module] = [
            K.RandomResizedCrop(
                image_size, scale=o.crop_scale, ratio=o.crop_ratio, cropping_mode="resample"
            ),
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
        """Views of a batch."""
        return self.steps(x).clamp(0.0, 1.0)


class TabularViews(nn.Module):
    """Gaussian noise plus feature dropout; input and output (n, features), standardised."""

    def __init__(self, options: TabularViewOptions) -> None:
        super().__init__()
        self.noise_std = options.noise_std
        self.feature_dropout = options.feature_dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Views of a batch."""
        out = x + self.noise_std * torch.randn_like(x)
        if self.feature_dropout > 0:
            keep = torch.rand_like(x) >= self.feature_dropout
            out = out * keep
        return out


class VolumeViews(nn.Module):
    """Batched 3-D augmentation (:class:`VolumeViewOptions`) with per-volume parameters:
    one ``affine_grid`` / ``grid_sample`` resampling for zoom, shift and rotation, then
    flips, intensity and noise; input and output (n, C, D, H, W)."""

    def __init__(self, options: VolumeViewOptions) -> None:
        super().__init__()
        self.options = options

    def _rotations(self, n: int, device: torch.device) -> torch.Tensor:
        angles = (torch.rand(n, 3, device=device) * 2 - 1) * math.radians(self.options.rotation)
        cos, sin = angles.cos(), angles.sin()
        one, zero = torch.ones(n, device=device), torch.zeros(n, device=device)
        about_x = torch.stack([one, zero, zero, zero, cos[:, 0], -sin[:, 0],
                               zero, sin[:, 0], cos[:, 0]], 1).view(n, 3, 3)  # fmt: skip
        about_y = torch.stack([cos[:, 1], zero, sin[:, 1], zero, one, zero,
                               -sin[:, 1], zero, cos[:, 1]], 1).view(n, 3, 3)  # fmt: skip
        about_z = torch.stack([cos[:, 2], -sin[:, 2], zero, sin[:, 2], cos[:, 2], zero,
                               zero, zero, one], 1).view(n, 3, 3)  # fmt: skip
        return about_x @ about_y @ about_z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Views of a batch."""
        o, n, device = self.options, len(x), x.device
        low, high = o.zoom
        scale = low + (high - low) * torch.rand(n, 1, 1, device=device)
        shift = (torch.rand(n, 3, 1, device=device) * 2 - 1) * o.shift
        theta = torch.cat([self._rotations(n, device) * scale, shift], dim=2)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        for axis in (2, 3, 4):
            flipped = torch.rand(n, device=device) < o.flip
            out = torch.where(flipped.view(n, 1, 1, 1, 1), out.flip(axis), out)
        factor = 1 + (torch.rand(n, 1, 1, 1, 1, device=device) * 2 - 1) * o.intensity
        offset = (torch.rand(n, 1, 1, 1, 1, device=device) * 2 - 1) * o.intensity / 2
        return out * factor + offset + o.noise_std * torch.randn_like(out)


def build_views(options: ViewOptions, sample_shape: tuple[int, ...]) -> nn.Module:
    """The view module of some options."""
    if isinstance(options, VolumeViewOptions):
        return VolumeViews(options)
    if isinstance(options, ImageViewOptions):
        return ImageViews((sample_shape[1], sample_shape[2]), options, sample_shape[0])
    return TabularViews(options)
