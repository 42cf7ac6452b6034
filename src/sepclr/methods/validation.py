"""Checks at the public boundary: arrays and options given by users."""

from typing import Any

import numpy as np
import torch

from sepclr.errors import InvalidInputError


def _raw_tensor(x: Any, name: str) -> torch.Tensor:
    """``x`` as a CPU tensor without copying when possible, channels first; checks the type,
    dtype, rank and emptiness."""
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
    if array.ndim not in (2, 3, 4, 5):
        raise InvalidInputError(
            f"{name} has shape {tuple(array.shape)}; expected (n, features), (n, H, W), "
            "(n, C, H, W) or (n, C, D, H, W)"
        )
    if array.shape[0] == 0:
        raise InvalidInputError(f"{name} is empty (0 samples)")
    return array.unsqueeze(1) if array.ndim == 3 else array


def _is_uint8_image(x: torch.Tensor) -> bool:
    """uint8 images (n, C, H, W) or volumes (n, C, D, H, W)."""
    return x.dtype == torch.uint8 and x.ndim >= 4


_CHUNK = 4096


def _non_finite_rows(values: torch.Tensor) -> int:
    return int((~torch.isfinite(values).reshape(len(values), -1).all(dim=1)).sum())


def _refuse_non_finite(bad: int, name: str) -> None:
    if bad:
        raise InvalidInputError(f"{name} contains NaN or infinite values in {bad} sample(s)")


def _fill(out: torch.Tensor, raw: torch.Tensor, name: str) -> None:
    """Copy ``raw`` into ``out`` (same shape) ``_CHUNK`` rows at a time, converting to
    ``out``'s dtype (uint8 images to float32 are scaled to [0, 1]), so that no full-size
    temporary is made; refuse non-finite values."""
    bad = 0
    for start in range(0, len(raw), _CHUNK):
        rows = slice(start, start + _CHUNK)
        if out.dtype == torch.uint8:
            out[rows] = raw[rows]
            continue
        values = to_float(raw[rows]) if _is_uint8_image(raw) else raw[rows].float()
        bad += _non_finite_rows(values)
        out[rows] = values
    _refuse_non_finite(bad, name)


def as_sample_tensor(x: Any, name: str = "x") -> torch.Tensor:
    """Validate a batch and return it as a CPU tensor, channels first: uint8 images stay
    uint8 (four times smaller than float32; :func:`to_float` scales them when a batch is
    built), everything else becomes float32 (float32 input is used as is, not copied).

    Accepted: numpy arrays or torch tensors of shape (n, features) (tabular), (n, H, W)
    (one-channel images, a channel axis is added), (n, C, H, W) (images) or (n, C, D, H, W)
    (volumes). Raises
    :class:`InvalidInputError` for other types, ranks, dtypes, empty batches and non-finite
    values.
    """
    raw = _raw_tensor(x, name)
    if _is_uint8_image(raw):
        return raw.contiguous()
    if raw.dtype == torch.float32 and raw.is_contiguous():
        bad = sum(_non_finite_rows(raw[s : s + _CHUNK]) for s in range(0, len(raw), _CHUNK))
        _refuse_non_finite(bad, name)
        return raw
    out = torch.empty(raw.shape, dtype=torch.float32)
    _fill(out, raw, name)
    return out


def stack_groups(
    background: Any, target: Any, keep_uint8: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate the two groups and stack them (background first) into one new tensor,
    converted chunk by chunk (the only full-size copy made); returns it and the boolean mask
    of the target rows. uint8 images stay uint8 with ``keep_uint8`` when both groups are."""
    bg, tg = _raw_tensor(background, "background"), _raw_tensor(target, "target")
    _check_same_shape(bg, tg)
    keep = keep_uint8 and _is_uint8_image(bg) and _is_uint8_image(tg)
    stacked = torch.empty(
        (len(bg) + len(tg), *bg.shape[1:]), dtype=torch.uint8 if keep else torch.float32
    )
    _fill(stacked[: len(bg)], bg, "background")
    _fill(stacked[len(bg) :], tg, "target")
    is_target = torch.cat(
        [torch.zeros(len(bg), dtype=torch.bool), torch.ones(len(tg), dtype=torch.bool)]
    )
    return stacked, is_target


def _check_same_shape(bg: torch.Tensor, tg: torch.Tensor) -> None:
    if bg.shape[1:] != tg.shape[1:]:
        raise InvalidInputError(
            f"background samples have shape {tuple(bg.shape[1:])} but target samples have "
            f"{tuple(tg.shape[1:])}; both groups must have the same trailing shape"
        )


def to_float(x: torch.Tensor) -> torch.Tensor:
    """float32 values of validated samples: uint8 images scaled from [0, 255] to [0, 1]."""
    return x.float() / 255.0 if x.dtype == torch.uint8 else x


def as_float_tensor(x: Any, name: str = "x") -> torch.Tensor:
    """:func:`as_sample_tensor` as float32 (uint8 images scaled to [0, 1])."""
    return to_float(as_sample_tensor(x, name))
