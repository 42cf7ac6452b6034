"""Reader for the IDX format of MNIST, Fashion-MNIST and KMNIST (LeCun et al.), raw or gzip.

Layout: two zero bytes, a type code, the number of dimensions ``k``, then ``k`` big-endian
uint32 sizes, then the values in C order (big-endian for multi-byte types).
"""

import gzip
import io
import zlib
from pathlib import Path

import numpy as np

from sepclr.errors import CorruptFileError

_IDX_TYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


def _layout(head: bytes, source: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and header length announced by the first bytes of an IDX file (at least
    the 4 magic bytes, and the sizes that follow them when ``head`` holds them)."""
    if len(head) < 4:
        raise CorruptFileError(f"{source}: {len(head)} bytes is too short for an IDX header")
    if head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
        raise CorruptFileError(
            f"{source}: not an IDX file (magic bytes {head[:4].hex()}; expected 0000 followed "
            f"by a type code in {sorted(hex(t) for t in _IDX_TYPES)} and a rank)"
        )
    ndim = head[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(head) < header:
        raise CorruptFileError(f"{source}: truncated IDX header (rank {ndim})")
    shape = tuple(int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return shape, np.dtype(_IDX_TYPES[head[2]]), header


def _check_size(
    shape: tuple[int, ...], dtype: np.dtype, actual: int, source: str, modulo: int = 0
) -> None:
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    mismatch = (actual - expected) % modulo != 0 if modulo else actual != expected
    if mismatch:
        raise CorruptFileError(
            f"{source}: IDX header announces shape {shape} ({expected} bytes of data) but the "
            f"file holds {actual}; the file is truncated or corrupt, download it again"
        )


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes into an array, checking the magic number and the exact size."""
    shape, dtype, header = _layout(data[:1028], source)
    _check_size(shape, dtype, len(data) - header, source)
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file; a name ending in ``.gz`` is decompressed on the fly. The values are
    read straight into the returned array (no copy of the whole file is held besides it).
    """
    path = Path(path)
    source = str(path)
    with path.open("rb") as raw:
        stream: io.BufferedIOBase = gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
        try:
            head = stream.read(4)
            head += stream.read(4 * head[3]) if len(head) == 4 else b""
            shape, dtype, header = _layout(head, source)
            _check_size(shape, dtype, _stored_size(path, raw) - header, source, modulo=2**32)
            values = np.empty(shape, dtype=dtype)
            filled = _read_into(stream, values.data.cast("B"))
            _check_size(shape, dtype, filled + len(stream.read()), source)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise CorruptFileError(f"{path}: not a valid gzip file ({exc})") from exc
    return values if dtype.isnative else values.astype(dtype.newbyteorder("="))


def _stored_size(path: Path, raw: io.BufferedReader) -> int:
    """The size of the file's content: on disk, or for gzip the size its trailer records
    (modulo 2**32), read before anything is allocated."""
    if path.suffix != ".gz":
        return path.stat().st_size
    where = raw.tell()
    raw.seek(-4, io.SEEK_END)
    size = int.from_bytes(raw.read(4), "little")
    raw.seek(where)
    return size


def _read_into(stream: io.BufferedIOBase, buffer: memoryview) -> int:
    """Fill ``buffer`` from ``stream``; the number of bytes read (fewer at the end)."""
    filled = 0
    while filled < len(buffer):
        count = stream.readinto(buffer[filled:])
        if not count:
            break
        filled += count
    return filled


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` in IDX format (gzip-compressed when the name ends in ``.gz``)."""
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    dtype = np.dtype(array.dtype).newbyteorder("=")
    if dtype not in codes:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    code = codes[dtype]
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    payload = header + np.ascontiguousarray(array).astype(_IDX_TYPES[code]).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)
