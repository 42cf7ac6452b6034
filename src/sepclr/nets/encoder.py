"""The two-branch encoder of SepCLR: a common and a salient branch, each a backbone, a linear
representation layer and a projector head used only by the training losses."""

from typing import NamedTuple

import torch
from torch import nn

from sepclr.nets.convnet import ConvNetBackbone
from sepclr.nets.decoders import build_decoder
from sepclr.nets.mlp import MLPBackbone
from sepclr.nets.resnet import ResNet18Backbone

BACKBONES = ("auto", "mlp", "convnet", "resnet18")
IMAGE_BACKBONES = {"convnet": ConvNetBackbone.min_size, "resnet18": ResNet18Backbone.min_size}


class EncodedBatch(NamedTuple):
    """The encoder's four outputs for a batch.

    Parameters
    ----------
    common_rep, salient_rep : Tensor
        The representations (the codes users get).
    common_head, salient_head : Tensor
        The projector heads the loss sees.
    """

    common_rep: torch.Tensor
    common_head: torch.Tensor
    salient_rep: torch.Tensor
    salient_head: torch.Tensor


def resolve_backbone(name: str, input_shape: tuple[int, ...]) -> str:
    """The backbone for ``name`` and a per-sample input shape: ``auto`` picks ``mlp`` for
    vectors (features,) and ``convnet`` for images (C, H, W) and volumes (C, D, H, W), in 2-D
    or 3-D; ``resnet18`` (2-D or 3-D by the same rule) is asked for by name.
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {BACKBONES}")
    if name == "auto":
        if len(input_shape) not in (1, 3, 4):
            raise ValueError(
                f"no backbone for samples of shape {input_shape}: expected (features,), "
                "(C, H, W) or (C, D, H, W)"
            )
        name = "mlp" if len(input_shape) == 1 else "convnet"
    allowed = (1,) if name == "mlp" else (3, 4)
    if len(input_shape) not in allowed:
        kinds = "vectors (features,)" if name == "mlp" else "images or volumes"
        raise ValueError(f"backbone {name!r} takes {kinds}, got samples of shape {input_shape}")
    if name in IMAGE_BACKBONES and min(input_shape[1:]) < IMAGE_BACKBONES[name]:
        raise ValueError(
            f"the {name} backbone needs images of at least {IMAGE_BACKBONES[name]} pixels "
            f"per side, got {input_shape[1:]}"
        )
    return name


def build_backbone(name: str, input_shape: tuple[int, ...], width: int) -> tuple[nn.Module, int]:
    """A backbone instance and its number of output features; ``name`` must already be
    resolved (see :func:`resolve_backbone`). Samples of rank 4 get 3-D convolutions.
    """
    if name not in BACKBONES[1:]:
        raise ValueError(f"build_backbone takes a resolved backbone, got {name!r}")
    if name == "mlp":
        mlp = MLPBackbone(input_shape[0], hidden=(8 * width, 8 * width))
        return mlp, mlp.out_features
    dims = len(input_shape) - 1
    if name == "resnet18":
        resnet = ResNet18Backbone(input_shape[0], min(input_shape[1:]), width, dims)
        return resnet, resnet.out_features
    convnet = ConvNetBackbone(input_shape[0], width=width, spatial_dims=dims)
    return convnet, convnet.out_features


class Branch(nn.Module):
    """Backbone -> Linear representation (the output users get) -> projector head
    ``Linear(d, 128) - BatchNorm - ReLU - Linear(128, d)`` (the official code's projector).
    Without a projector the head is the representation itself.

    Parameters
    ----------
    backbone : tuple of (nn.Module, int)
        The backbone and its output features.
    dim : int
        The code's size.
    projector : bool
        Whether the branch has a projector head.
    projector_hidden : int
        The head's hidden width.
    """

    def __init__(
        self,
        backbone: tuple[nn.Module, int],
        dim: int,
        projector: bool = True,
        projector_hidden: int = 128,
    ) -> None:
        super().__init__()
        self.backbone, features = backbone
        self.representation = nn.Linear(features, dim)
        self.projector: nn.Module = nn.Identity()
        if projector:
            self.projector = nn.Sequential(
                nn.Linear(dim, projector_hidden),
                nn.BatchNorm1d(projector_hidden),
                nn.ReLU(inplace=True),
                nn.Linear(projector_hidden, dim),
            )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The forward pass."""
        rep = self.representation(self.backbone(x))
        return rep, self.projector(rep)


class TwoBranchEncoder(nn.Module):
    """Independent common and salient branches on the same input, each with a ``backbone``
    resolved by :func:`resolve_backbone`. ``salient_projector=False``
    (``common_projector=False``) makes the salient (common) losses act on that branch's
    representation itself. ``decoder=True`` adds a decoder from the concatenated
    representations back to the input (:func:`sepclr.nets.decoders.build_decoder`), used by
    the explaining-away reconstruction.

    Parameters
    ----------
    salient_projector, common_projector : bool
        Whether each branch has a projector head.
    decoder : bool
        Add the decoder.
    """

    def __init__(
        self,
        backbone: str,
        input_shape: tuple[int, ...],
        common_dim: int,
        salient_dim: int,
        width: int = 16,
        salient_projector: bool = True,
        common_projector: bool = True,
        decoder: bool = False,
    ) -> None:
        super().__init__()
        self.common = Branch(
            build_backbone(backbone, input_shape, width), common_dim, projector=common_projector
        )
        self.salient = Branch(
            build_backbone(backbone, input_shape, width), salient_dim, projector=salient_projector
        )
        self.decoder: nn.Module | None = None
        if decoder:
            self.decoder = build_decoder(backbone, input_shape, common_dim + salient_dim, width)

    def forward(
        self, x: torch.Tensor, x_salient: torch.Tensor | None = None, passes: int = 1
    ) -> EncodedBatch:
        """Encode ``x``; the salient branch reads ``x_salient`` instead when it is given.
        ``passes=k`` splits the rows into ``k`` equal parts (e.g. two views of one batch)
        encoded one after the other, so that BatchNorm normalises each part with its own
        statistics; the outputs are concatenated back in order.
        """
        common_rep, common_head = _in_passes(self.common, x, passes)
        salient_input = x if x_salient is None else x_salient
        salient_rep, salient_head = _in_passes(self.salient, salient_input, passes)
        return EncodedBatch(common_rep, common_head, salient_rep, salient_head)


def _in_passes(branch: Branch, x: torch.Tensor, passes: int) -> tuple[torch.Tensor, torch.Tensor]:
    if passes == 1:
        return branch(x)
    if len(x) % passes:
        raise ValueError(f"{len(x)} rows do not split into {passes} equal passes")
    parts = [branch(part) for part in x.chunk(passes)]
    return torch.cat([rep for rep, _ in parts]), torch.cat([head for _, head in parts])
