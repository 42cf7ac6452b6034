"""What was measured faster for each backbone on each kind of device
(``benchmarks/throughput.py``): the memory layout of images and how the two views of a batch
go through the encoder."""

import torch

VIEW_PASSES = ("auto", "fused", "separate")
# (device type, backbone) where one pass per view measured faster than the fused pass
# (benchmarks/throughput.py): ResNet-18 on a CPU, 1.2-1.4x
SEPARATE_IS_FASTER = {("cpu", "resnet18")}


def resolve_view_passes(choice: str, device: torch.device, backbone: str = "convnet") -> str:
    """How the two views of a batch go through the encoder: ``"fused"``, one forward pass
    over both (one batch twice as large), or ``"separate"``, one pass per view as in the
    official code (BatchNorm then normalises each view with its own statistics). ``"auto"``
    takes the one measured faster for ``backbone`` on ``device`` by
    ``benchmarks/throughput.py``: separate passes for ResNet-18 on CPUs, fused otherwise.

    Examples
    --------
    >>> resolve_view_passes("auto", torch.device("cpu"), "resnet18")
    'separate'
    >>> resolve_view_passes("auto", torch.device("cpu"), "convnet")
    'fused'
    """
    if choice not in VIEW_PASSES:
        raise ValueError(f"unknown view passes {choice!r}; choose one of {VIEW_PASSES}")
    if choice != "auto":
        return choice
    return "separate" if (device.type, backbone) in SEPARATE_IS_FASTER else "fused"


def default_channels_last(device: torch.device, image: bool, backbone: str = "convnet") -> bool:
    """Channels-last for 2-D images where it is measured faster and safe: on CUDA, the layout
    of tensor-core convolutions; on CPUs for the small convnet only (1.37x its step at batch
    256, ``benchmarks/throughput.py``). ResNet-18 gains nothing from it on CPUs, and oneDNN's
    channels-last kernels hang or crash on its 4-channel layers at ``width=1``.

    Examples
    --------
    >>> default_channels_last(torch.device("cpu"), True, "resnet18")
    False
    """
    if not image:
        return False
    return device.type == "cuda" or (device.type == "cpu" and backbone == "convnet")
