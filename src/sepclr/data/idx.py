"""Reader for the IDX format of MNIST, Fashion-MNIST and KMNIST (LeCun et al.), raw or gzip.

Layout: two zero bytes, a type code, the number of dimensions ``k``, then ``k`` big-endian
uint32 sizes, then the values in C order (big-endian for multi-byte types).
"""

import gzip
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


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes into an array, checking the magic number and the exact size."""
    if len(data) < 4:
        raise CorruptFileError(f"{source}: {len(data)} bytes is too short for an IDX header")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise CorruptFileError(
            f"{source}: not an IDX file (magic bytes {data[:4].hex()}; expected 0000 followed "
            f"by a type code in {sorted(hex(t) for t in _IDX_TYPES)} and a rank)"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise CorruptFileError(f"{source}: truncated IDX header (rank {ndim})")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        raise CorruptFileError(
            f"{source}: IDX header announces shape {shape} ({expected} bytes of data) but the "
            f"file holds {actual}; the file is truncated or corrupt, download it again"
        )
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file; a name ending in ``.gz`` is decompressed first."""
    path = Path(path)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise CorruptFileError(f"{path}: not a valid gzip file ({exc})") from exc
    return parse_idx(raw, str(path))


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
