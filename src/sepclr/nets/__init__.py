"""Backbones and the two-branch encoder."""

from sepclr.nets.convnet import ConvNetBackbone
from sepclr.nets.encoder import BACKBONES, EncodedBatch, TwoBranchEncoder, resolve_backbone
from sepclr.nets.mlp import MLPBackbone

__all__ = [
    "BACKBONES",
    "ConvNetBackbone",
    "EncodedBatch",
    "MLPBackbone",
    "TwoBranchEncoder",
    "resolve_backbone",
]
