import gzip

import numpy as np
import pytest

from sepclr.data.idx import parse_idx, read_idx, write_idx
from sepclr.errors import CorruptFileError


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip(tmp_path, suffix, dtype):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    loaded = read_idx(path)
    assert loaded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded, array)


def test_header_layout_is_mnist_format(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    write_idx(path, np.array([7, 2, 1], dtype=np.uint8))
    assert path.read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])


def test_bad_magic(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(bytes([1, 2, 8, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(CorruptFileError, match="not an IDX file"):
        read_idx(path)


def test_unknown_type_code():
    with pytest.raises(CorruptFileError, match="not an IDX file"):
        parse_idx(bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 5]))


@pytest.mark.parametrize("cut", [2, 6, 20, 40])
def test_truncated(tmp_path, cut):
    path = tmp_path / "images"
    write_idx(path, np.zeros((3, 4, 4), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(CorruptFileError):
        read_idx(path)


def test_trailing_bytes_rejected():
    data = bytes([0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3])
    with pytest.raises(CorruptFileError, match="announces shape"):
        parse_idx(data)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x05")[:-6])
    with pytest.raises(CorruptFileError):
        read_idx(path)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_a_header_announcing_more_than_the_file_holds_is_refused_before_allocating(
    tmp_path, suffix
):
    """A header announcing 65535**3 bytes (256 TiB, which numpy could not even allocate)
    is refused from the file's (or the gzip trailer's) size, before any array is made."""
    side = (65535).to_bytes(4, "big")
    payload = bytes([0, 0, 8, 3]) + side * 3 + bytes([7, 2, 1])
    path = tmp_path / f"labels{suffix}"
    path.write_bytes(gzip.compress(payload) if suffix else payload)
    with pytest.raises(CorruptFileError, match="announces shape"):
        read_idx(path)


def test_reading_a_file_makes_one_array_and_no_copy_of_the_bytes(tmp_path):
    path = tmp_path / "images-idx3-ubyte.gz"
    write_idx(path, np.zeros((64, 28, 28), dtype=np.uint8))
    array = read_idx(path)
    assert array.flags.owndata and array.flags.writeable
