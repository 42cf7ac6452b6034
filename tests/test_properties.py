"""Property-based tests (hypothesis): file readers on arbitrary bytes either load valid
content or raise the library's own error; objectives on arbitrary finite inputs stay finite
and keep their documented invariances."""

import contextlib
import gzip
import json

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sepclr.data.idx import parse_idx, read_idx, write_idx
from sepclr.engine.checkpoint import CHECKPOINT_NAME, Checkpointer
from sepclr.engine.persistence import CONFIG_NAME, WEIGHTS_NAME, read_model
from sepclr.errors import CheckpointError, CorruptFileError, InvalidInputError
from sepclr.methods.validation import as_float_tensor
from sepclr.objectives import alignment, kjem, kmi, uniformity
from sepclr.objectives.vae import gaussian_kl

QUICK = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def idx_like_bytes() -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, half of them starting with a plausible IDX magic number."""
    header = st.tuples(st.sampled_from([8, 9, 11, 12, 13, 14, 7, 0]), st.integers(0, 5))
    magic = header.map(lambda t: bytes([0, 0, t[0], t[1]]))
    return st.one_of(
        st.binary(max_size=64), st.tuples(magic, st.binary(max_size=64)).map(sum_bytes)
    )


def sum_bytes(parts: tuple[bytes, bytes]) -> bytes:
    return parts[0] + parts[1]


@QUICK
@given(idx_like_bytes())
def test_idx_parser_loads_or_raises_its_own_error(data):
    try:
        array = parse_idx(data)
    except CorruptFileError:
        return
    assert array.ndim == data[3] and array.nbytes == len(data) - 4 - 4 * data[3]


@QUICK
@given(
    arrays(
        st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
        st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
        elements={"allow_nan": False},
    )
)
def test_idx_round_trip(tmp_path_factory, array):
    path = tmp_path_factory.mktemp("idx") / "a.idx.gz"
    write_idx(path, array)
    np.testing.assert_array_equal(read_idx(path), array)


@QUICK
@given(st.binary(max_size=200), st.booleans())
def test_gzip_reader_on_arbitrary_bytes(tmp_path_factory, data, compress):
    path = tmp_path_factory.mktemp("gz") / "x-ubyte.gz"
    path.write_bytes(gzip.compress(data) if compress else data)
    with contextlib.suppress(CorruptFileError):
        read_idx(path)


@QUICK
@given(st.binary(max_size=300), st.binary(max_size=300))
def test_model_reader_on_arbitrary_bytes(tmp_path_factory, config, weights):
    directory = tmp_path_factory.mktemp("model")
    (directory / CONFIG_NAME).write_bytes(config)
    (directory / WEIGHTS_NAME).write_bytes(weights)
    with contextlib.suppress(CheckpointError):
        read_model(directory)


@QUICK
@given(st.binary(max_size=300))
def test_model_reader_on_arbitrary_weights_with_a_valid_config(tmp_path_factory, weights):
    directory = tmp_path_factory.mktemp("model")
    config = {"format": "sepclr-model", "format_version": 1, "class": "SepCLR"}
    (directory / CONFIG_NAME).write_text(json.dumps(config))
    (directory / WEIGHTS_NAME).write_bytes(weights)
    with contextlib.suppress(CheckpointError):
        read_model(directory)


def embeddings(rows: int, dims: int) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float32, (rows, dims), elements=st.floats(-1e3, 1e3, width=32))


@QUICK
@given(
    embeddings(6, 3),
    embeddings(6, 2),
    st.floats(1e-3, 1e3),
    st.permutations(list(range(6))),
)
def test_kernel_objectives_are_finite_and_permutation_invariant(c, s, bandwidth, order):
    c_t, s_t = torch.from_numpy(c).double(), torch.from_numpy(s).double()
    perm = torch.tensor(order)
    for value, permuted in (
        (uniformity(c_t, bandwidth), uniformity(c_t[perm], bandwidth)),
        (kjem(c_t, s_t, bandwidth), kjem(c_t[perm], s_t[perm], bandwidth)),
        (kmi(c_t, s_t, bandwidth), kmi(c_t[perm], s_t[perm], bandwidth)),
        (alignment(c_t, s_t[:, :1].expand(-1, 3), bandwidth), None),
    ):
        assert torch.isfinite(value)
        if permuted is not None:
            torch.testing.assert_close(value, permuted, rtol=1e-9, atol=1e-9)


@QUICK
@given(embeddings(5, 4), arrays(np.float32, (5, 4), elements=st.floats(-20, 20, width=32)))
def test_gaussian_kl_is_finite_and_non_negative(mu, logvar):
    value = gaussian_kl(torch.from_numpy(mu).double(), torch.from_numpy(logvar).double())
    assert torch.isfinite(value) and float(value) >= -1e-9


@QUICK
@given(st.binary(max_size=400))
def test_checkpoint_reader_on_arbitrary_bytes(tmp_path_factory, data):
    directory = tmp_path_factory.mktemp("ckpt")
    (directory / CHECKPOINT_NAME).write_bytes(data)
    with contextlib.suppress(CheckpointError):
        Checkpointer(directory, {"class": "SepCLR"}).read()


@QUICK
@given(
    arrays(
        st.sampled_from([np.uint8, np.int64, np.float16, np.float32, np.float64, np.bool_]),
        st.lists(st.integers(0, 3), min_size=0, max_size=6).map(tuple),
    )
)
def test_array_inputs_convert_or_raise_the_library_error(array):
    try:
        tensor = as_float_tensor(array)
    except InvalidInputError:
        return
    assert tensor.dtype == torch.float32 and torch.isfinite(tensor).all()
    assert tensor.ndim in (2, 4, 5) and len(tensor) == len(array) > 0
