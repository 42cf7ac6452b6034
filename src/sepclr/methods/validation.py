"""Checks at the public boundary: arrays and options given by users."""

import warnings
from typing import Any

import numpy as np
import torch

from sepclr.errors import InvalidInputError, SepCLRWarning


def feature_names(x: Any) -> list[str] | None:
    """The column names of a pandas DataFrame, as strings; None for anything else."""
    if hasattr(x, "columns") and hasattr(x, "to_numpy"):
        return [str(column) for column in x.columns]
    return None


def _as_array(x: Any, name: str) -> np.ndarray:
    """A pandas DataFrame (numeric columns only) or an array-like (lists, tuples) as a
    numpy array."""
    if feature_names(x) is not None:
        from pandas.api.types import is_numeric_dtype

        other = [str(c) for c, kind in x.dtypes.items() if not is_numeric_dtype(kind)]
        if other:
            raise InvalidInputError(
                f"{name} has columns that are not numbers: {', '.join(other[:5])}; drop or "
                "encode them"
            )
        return np.asarray(x.to_numpy(dtype=np.float64))
    try:
        array = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"{name} is not an array of numbers ({exc})") from exc
    if array.ndim == 0 or array.dtype == object:
        raise InvalidInputError(
            f"{name} must be an array of numbers (numpy, torch, pandas or nested lists), got "
            f"{type(x).__name__}"
        )
    return array


_WIDE_UNSIGNED = (torch.uint16, torch.uint32, torch.uint64)


def _readable_by_torch(x: np.ndarray, name: str) -> np.ndarray:
    """``x`` in a dtype torch takes: native byte order, long doubles as float64 (refused
    where a value would overflow), unsigned integers wider than a byte as float64."""
    if not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))
    if x.dtype.kind == "f" and x.dtype.itemsize > 8:
        with np.errstate(over="ignore"):
            wide = x.astype(np.float64)
        if (np.isinf(wide) & np.isfinite(x)).any():
            raise InvalidInputError(
                f"{name} has values beyond the float32 range (about 3.4e38); rescale the data"
            )
        x = wide
    if x.dtype.kind == "u" and x.dtype.itemsize > 1:
        x = x.astype(np.float64)
    return x


def _raw_tensor(x: Any, name: str) -> torch.Tensor:
    """``x`` as a CPU tensor without copying when possible, channels first; checks the type,
    dtype, rank and emptiness."""
    if not isinstance(x, torch.Tensor | np.ndarray):
        x = _as_array(x, name)
    if isinstance(x, torch.Tensor):
        if x.layout != torch.strided:
            raise InvalidInputError(
                f"{name} is a {x.layout} tensor; pass a dense one (.to_dense())"
            )
        if x.device.type == "meta":
            raise InvalidInputError(f"{name} is on the meta device and holds no values")
        array = x.detach().cpu()
        if array.dtype in _WIDE_UNSIGNED:
            array = array.to(torch.float64)
    else:
        if x.dtype == object or not (
            np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.bool_)
        ):
            raise InvalidInputError(f"{name} has dtype {x.dtype}; pass numbers (float or uint8)")
        if np.iscomplexobj(x):
            raise InvalidInputError(f"{name} is complex; pass real numbers")
        array = torch.from_numpy(np.ascontiguousarray(_readable_by_torch(x, name)))
    if array.is_complex():
        raise InvalidInputError(f"{name} is complex; pass real numbers")
    if array.ndim not in (2, 3, 4, 5):
        raise InvalidInputError(
            f"{name} has shape {tuple(array.shape)}; expected (n, features), (n, H, W), "
            "(n, C, H, W) or (n, C, D, H, W)"
        )
    if array.shape[0] == 0:
        raise InvalidInputError(f"{name} is empty (0 samples)")
    if 0 in array.shape[1:]:
        raise InvalidInputError(
            f"{name} has shape {tuple(array.shape)}: its samples hold no values"
        )
    return array.unsqueeze(1) if array.ndim == 3 else array


def _is_uint8_image(x: torch.Tensor) -> bool:
    """uint8 images (n, C, H, W) or volumes (n, C, D, H, W)."""
    return x.dtype == torch.uint8 and x.ndim >= 4


_CHUNK = 4096
_FLOAT32_SQUARE_LIMIT = 1e18  # squares of larger values overflow float32 (about 3.4e38)


def _non_finite_rows(values: torch.Tensor) -> int:
    return int((~torch.isfinite(values).reshape(len(values), -1).all(dim=1)).sum())


def _refuse_non_finite(bad: int, name: str, raw: torch.Tensor | None = None) -> None:
    if not bad:
        return
    if raw is not None and raw.is_floating_point() and _non_finite_rows(raw) == 0:
        raise InvalidInputError(
            f"{name} has values beyond the float32 range (about 3.4e38) in {bad} sample(s); "
            "rescale the data"
        )
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
    _refuse_non_finite(bad, name, raw)


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
    of the target rows. uint8 images stay uint8 with ``keep_uint8`` when both groups are.
    """
    bg, tg = _raw_tensor(background, "background"), _raw_tensor(target, "target")
    _check_same_shape(bg, tg)
    _warn_doubtful(bg, tg)
    keep = keep_uint8 and _is_uint8_image(bg) and _is_uint8_image(tg)
    stacked = torch.empty(
        (len(bg) + len(tg), *bg.shape[1:]), dtype=torch.uint8 if keep else torch.float32
    )
    _fill(stacked[: len(bg)], bg, "background")
    _fill(stacked[len(bg) :], tg, "target")
    is_target = torch.cat(
        [torch.zeros(len(bg), dtype=torch.bool), torch.ones(len(tg), dtype=torch.bool)]
    )
    if torch.equal(stacked.amin(dim=0), stacked.amax(dim=0)):
        raise InvalidInputError(
            "every background and target sample is the same: there is nothing to learn"
        )
    return stacked, is_target


def _warn_doubtful(bg: torch.Tensor, tg: torch.Tensor) -> None:
    """Warn (:class:`sepclr.errors.SepCLRWarning`) about groups that differ in dtype or
    value range, and about images that are neither uint8 nor floats in [0, 1]; refuse images
    so large that float32 arithmetic overflows on them."""
    if bg.dtype != tg.dtype:
        warnings.warn(
            f"background is {bg.dtype} but target is {tg.dtype}; give both groups the same "
            "type and scale, or the model may learn the difference in storage",
            SepCLRWarning,
            stacklevel=4,
        )
    ranges = {name: _range(x) for name, x in (("background", bg), ("target", tg))}
    largest = max(max(abs(low), abs(high)) for low, high in ranges.values())
    if bg.ndim >= 3 and largest > _FLOAT32_SQUARE_LIMIT:
        raise InvalidInputError(
            f"the samples reach {largest:.3g}: float32 arithmetic overflows on values beyond "
            f"{_FLOAT32_SQUARE_LIMIT:.0e}; rescale the data (images to [0, 1])"
        )
    spans = [high - low for low, high in ranges.values()]
    if min(spans) > 0 and max(spans) > 10 * min(spans):
        shown = "; ".join(f"{n} in [{lo:.3g}, {hi:.3g}]" for n, (lo, hi) in ranges.items())
        warnings.warn(
            f"the groups have very different value ranges ({shown})", SepCLRWarning, stacklevel=4
        )
    if bg.ndim >= 4 and not _is_uint8_image(bg):
        low, high = min(r[0] for r in ranges.values()), max(r[1] for r in ranges.values())
        if not bg.is_floating_point() or low < 0 or high > 1:
            warnings.warn(
                f"images of dtype {bg.dtype} with values in [{low:.3g}, {high:.3g}] are used "
                "as they are; images are expected as floats in [0, 1] or uint8 in [0, 255]",
                SepCLRWarning,
                stacklevel=4,
            )


def _range(x: torch.Tensor) -> tuple[float, float]:
    low, high = torch.aminmax(x.reshape(-1)) if x.dtype != torch.bool else (x.min(), x.max())
    return float(low), float(high)


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
