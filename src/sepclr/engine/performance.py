"""How a training step runs fast on each device: mixed precision, channels-last images,
``torch.compile`` and the ``torch.backends`` switches, all opt-in or chosen per device, and
restored when training ends."""

import ctypes
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from sepclr.errors import SepCLRWarning

PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class StepSpeed:
    """``precision``: ``"float32"``, or ``"bfloat16"`` / ``"float16"`` autocast for the
    encoders' forward pass (the loss terms always run in float32: their exponentials and
    Gram matrices need the range and precision; float16 adds a gradient scaler).
    ``channels_last``: images and convolution weights in NHWC memory order (faster
    convolutions on GPUs with tensor cores). ``compile``: ``torch.compile`` the encoders for
    training (the first step compiles, which takes tens of seconds).

    Parameters
    ----------
    precision : {"float32", "bfloat16", "float16"}
        The forward pass's precision.
    channels_last : bool
        NHWC memory order.
    compile : bool
        Compile the encoders.
    """

    precision: str = "float32"
    channels_last: bool = False
    compile: bool = False

    @property
    def dtype(self) -> torch.dtype | None:
        """The autocast dtype (None in float32)."""
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


def default_read_every(device: torch.device) -> int:
    """Steps between two reads of the loss terms: every step on a CPU, where a read costs
    nothing and a non-finite loss is then caught before the optimiser step; every 25 steps on
    a GPU, where each read makes the host wait for the device.
    """
    return 1 if device.type == "cpu" else 25


def native_precision(precision: str, device: torch.device) -> bool:
    """Whether ``device`` computes in ``precision`` natively: always for float32 and on GPUs;
    on a CPU, when oneDNN finds instructions for it (AVX-512 BF16 or AMX for bfloat16).
    """
    if device.type != "cpu" or precision == "float32":
        return True
    if precision == "bfloat16":
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return bool(torch.ops.mkldnn._is_mkldnn_fp16_supported())


def warn_if_slow_precision(precision: str, device: torch.device) -> None:
    """Warn when ``precision`` is a half precision that ``device`` does not compute natively:
    oneDNN then emulates it, and convolutions run many times slower than in float32.
    """
    if native_precision(precision, device):
        return
    warnings.warn(
        f"precision={precision!r} on this CPU, which has no {precision} instructions "
        f"({torch.backends.cpu.get_cpu_capability()}): its convolutions are emulated and much "
        "slower than in float32; use precision='float32' here",
        SepCLRWarning,
        stacklevel=3,
    )


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the operating system (glibc's ``malloc_trim``),
    so that a finished training's step buffers do not stay in the process's resident memory
    while it goes on (evaluation, another fit). Does nothing where glibc is not the C
    library."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.malloc_trim(0)


@contextmanager
def backend_settings(device: torch.device) -> Iterator[None]:
    """On CUDA: cuDNN autotuning on (the batch shapes are fixed during training) and TF32
    kept for convolutions but off for matrix products, which build the kernel terms' Gram
    matrices. Previous values come back on exit. Nothing to set on CPU or MPS.
    """
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
