"""Checks at the public boundary: arrays and options given by users."""

import difflib
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from sepclr.errors import InvalidInputError


def as_sample_tensor(x: Any, name: str = "x") -> torch.Tensor:
    """Validate a batch and return it as a CPU tensor, channels first: uint8 images stay
    uint8 (four times smaller than float32; :func:`to_float` scales them when a batch is
    built), everything else becomes float32.

    Accepted: numpy arrays or torch tensors of shape (n, features) (tabular), (n, H, W)
    (one-channel images, a channel axis is added) or (n, C, H, W) (images). Raises
    :class:`InvalidInputError` for other types, ranks, dtypes, empty batches and non-finite
    values.
    """
    if isinstance(x, torch.Tensor):
        array = x.detach().cpu()
    elif isinstance(x, np.ndarray):
        if x.dtype == object or not (
            np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.bool_)
        ):
            raise InvalidInputError(f"{name} has dtype {x.dtype}; pass numbers (float or uint8)")
        if np.iscomplexobj(x):
            raise InvalidInputError(f"{name} is complex; pass real numbers")
        array = torch.from_numpy(np.ascontiguousarray(x))
    else:
        raise InvalidInputError(
            f"{name} must be a numpy array or a torch tensor, got {type(x).__name__}"
        )
    if array.is_complex():
        raise InvalidInputError(f"{name} is complex; pass real numbers")
    if array.ndim not in (2, 3, 4):
        hint = " (3-D volumes are not supported yet)" if array.ndim == 5 else ""
        raise InvalidInputError(
            f"{name} has shape {tuple(array.shape)}; expected (n, features), (n, H, W) or "
            f"(n, C, H, W){hint}"
        )
    if array.shape[0] == 0:
        raise InvalidInputError(f"{name} is empty (0 samples)")
    if array.ndim == 3:
        array = array.unsqueeze(1)
    if array.dtype == torch.uint8 and array.ndim == 4:
        return array.contiguous()
    out = array.float()
    if not torch.isfinite(out).all():
        bad = int((~torch.isfinite(out)).any(dim=tuple(range(1, out.ndim))).sum())
        raise InvalidInputError(f"{name} contains NaN or infinite values in {bad} sample(s)")
    return out.contiguous()


def to_float(x: torch.Tensor) -> torch.Tensor:
    """float32 values of validated samples: uint8 images scaled from [0, 255] to [0, 1]."""
    return x.float() / 255.0 if x.dtype == torch.uint8 else x


def as_float_tensor(x: Any, name: str = "x") -> torch.Tensor:
    """:func:`as_sample_tensor` as float32 (uint8 images scaled to [0, 1])."""
    return to_float(as_sample_tensor(x, name))


def check_pair(
    background: Any, target: Any, keep_uint8: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate background and target batches and check they share the sample shape. With
    ``keep_uint8``, uint8 images stay uint8 when both groups are uint8."""
    bg = as_sample_tensor(background, "background")
    tg = as_sample_tensor(target, "target")
    if bg.shape[1:] != tg.shape[1:]:
        raise InvalidInputError(
            f"background samples have shape {tuple(bg.shape[1:])} but target samples have "
            f"{tuple(tg.shape[1:])}; both groups must have the same trailing shape"
        )
    if keep_uint8 and bg.dtype == tg.dtype:
        return bg, tg
    return to_float(bg), to_float(tg)


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``, else an error suggesting the closest one."""
    options = list(choices)
    if value in options:
        return str(value)
    close = difflib.get_close_matches(str(value), options, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise InvalidInputError(f"unknown {name} {value!r}{hint} Valid: {', '.join(options)}")


def check_positive(name: str, value: Any, allow_zero: bool = False, integer: bool = False) -> None:
    """Raise :class:`InvalidInputError` unless ``value`` is a (non-negative) positive number."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a number"
        raise InvalidInputError(f"{name} must be {what}, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero) or not np.isfinite(float(value)):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidInputError(f"{name} must be {bound}, got {value!r}")
