"""How a training step runs fast on each device: mixed precision, channels-last images,
``torch.compile`` and the ``torch.backends`` switches, all opt-in or chosen per device, and
restored when training ends."""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

import torch
from torch import nn

PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class StepSpeed:
    """``precision``: ``"float32"``, or ``"bfloat16"`` / ``"float16"`` autocast for the
    encoders' forward pass (the loss terms always run in float32: their exponentials and
    Gram matrices need the range and precision; float16 adds a gradient scaler).
    ``channels_last``: images and convolution weights in NHWC memory order (faster
    convolutions on GPUs with tensor cores). ``compile``: ``torch.compile`` the encoders for
    training (the first step compiles, which takes tens of seconds)."""

    precision: str = "float32"
    channels_last: bool = False
    compile: bool = False

    @property
    def dtype(self) -> torch.dtype | None:
        return PRECISIONS[self.precision]

    def autocast(self, device: torch.device) -> AbstractContextManager[object]:
        """The autocast context of the forward pass (a no-op in float32)."""
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(device.type, dtype=self.dtype)

    def scaler(self, device: torch.device) -> torch.amp.GradScaler | None:
        """A gradient scaler for float16 (its small gradients underflow otherwise)."""
        if self.precision != "float16":
            return None
        return torch.amp.GradScaler(device.type)


DEFAULT_SPEED = StepSpeed()


def set_memory_format(module: nn.Module, channels_last: bool) -> nn.Module:
    """``module`` with its 4-D weights in channels-last order, or back in the default one."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    return module.to(memory_format=layout)  # type: ignore[call-overload]


def default_channels_last(device: torch.device, image: bool) -> bool:
    """Channels-last for images on CUDA only, the layout tensor-core convolutions use; CPUs
    keep the default layout (``benchmarks/README.md`` says why)."""
    return image and device.type == "cuda"


@contextmanager
def backend_settings(device: torch.device) -> Iterator[None]:
    """On CUDA: cuDNN autotuning on (the batch shapes are fixed during training) and TF32
    kept for convolutions but off for matrix products, which build the kernel terms' Gram
    matrices. Previous values come back on exit. Nothing to set on CPU or MPS."""
    if device.type != "cuda":
        yield
        return
    previous = (torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32 = previous
