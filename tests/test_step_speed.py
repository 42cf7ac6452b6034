"""The single-process speed options: uint8 storage, mixed precision, channels-last,
torch.compile, backend switches and device choice. Each must leave the results as they are
(or, for lower precision, close to them)."""

import numpy as np
import pytest
import torch

from sepclr import SepCLR
from sepclr.engine import devices
from sepclr.engine.performance import StepSpeed, backend_settings
from sepclr.engine.training import TrainingData, TrainingPlan
from sepclr.methods.sepclr_module import SepCLRModule
from sepclr.methods.validation import stack_groups
from sepclr.nets.encoder import TwoBranchEncoder
from sepclr.objectives import SepCLRWeights, build_independence


def _images(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 256, size=(48, 1, 16, 16), dtype=np.uint8)
    target = rng.integers(0, 256, size=(48, 1, 16, 16), dtype=np.uint8)
    target[:, :, 4:12, 4:12] = 255
    return background, target


def _model(**params) -> SepCLR:
    return SepCLR(8, 8, width=4, epochs=2, batch_size=32, verbose=False, device="cpu", **params)


def test_uint8_images_stay_uint8_in_memory_and_train_like_their_float_copy():
    background, target = _images()
    stored, _ = stack_groups(background, target, keep_uint8=True)
    assert stored.dtype == torch.uint8
    as_uint8 = _model().fit(background, target)
    as_float = _model().fit(background / 255.0, target / 255.0)
    for key, value in as_float.encoder_.state_dict().items():
        torch.testing.assert_close(as_uint8.encoder_.state_dict()[key], value, rtol=1e-5, atol=1e-6)
    common_u, salient_u = as_uint8.transform(target)
    common_f, salient_f = as_uint8.transform(target / 255.0)
    np.testing.assert_array_equal(common_u, common_f)
    np.testing.assert_array_equal(salient_u, salient_f)


def test_bfloat16_autocast_keeps_float32_weights_and_a_close_loss():
    background, target = _images()
    full = _model().fit(background, target)
    mixed = _model(precision="bfloat16").fit(background, target)
    assert all(p.dtype == torch.float32 for p in mixed.encoder_.parameters())
    first_full, first_mixed = full.history_[0]["loss"], mixed.history_[0]["loss"]
    assert np.isfinite(first_mixed)
    assert abs(first_mixed - first_full) <= 0.05 * abs(first_full)


def test_unknown_precision_is_refused():
    with pytest.raises(Exception, match="precision"):
        _model(precision="float8").fit(*_images())


def _train(speed: StepSpeed, epochs: int = 2) -> tuple[list[dict[str, float]], dict]:
    torch.manual_seed(0)
    encoder = TwoBranchEncoder("convnet", (1, 16, 16), 4, 4, width=4)
    g = torch.Generator().manual_seed(1)
    inputs = torch.rand(64, 1, 16, 16, generator=g)
    is_target = torch.arange(64) % 2 == 0

    module = SepCLRModule(
        encoder, torch.nn.Identity(), build_independence("k-jem", 4, 4), SepCLRWeights()
    )
    plan = TrainingPlan(epochs, 32, 1e-3, torch.device("cpu"), speed=speed, verbose=False)
    data = TrainingData(inputs, is_target, lambda x: x.float())
    history = plan.run(module, data, torch.Generator().manual_seed(2)).history
    return history, encoder.state_dict()


def test_channels_last_gives_the_same_training():
    """Same losses over 4 steps (weights are not compared: Adam turns rounding-level
    differences of near-zero gradients into steps of size lr)."""
    reference, _ = _train(StepSpeed())
    history, _ = _train(StepSpeed(channels_last=True))
    for got, expected in zip(history, reference, strict=True):
        assert got["loss"] == pytest.approx(expected["loss"], rel=1e-4)


def test_compiled_encoder_trains_like_the_eager_one():
    """torch.compile (inductor, C++ on the CPU) gives the eager loss history."""
    reference, _ = _train(StepSpeed(), epochs=1)
    history, _ = _train(StepSpeed(compile=True), epochs=1)
    assert history[0]["loss"] == pytest.approx(reference[0]["loss"], rel=1e-4)


def test_cuda_backend_switches_are_set_for_training_and_restored():
    before = (torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32)
    with backend_settings(torch.device("cuda")):
        assert torch.backends.cudnn.benchmark is True
        assert torch.backends.cuda.matmul.allow_tf32 is False
    assert (torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32) == before
    with backend_settings(torch.device("cpu")):
        assert torch.backends.cudnn.benchmark == before[0]


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"), [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")]
)
def test_auto_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert devices.resolve_device("auto").type == expected


def test_groups_are_stacked_chunk_by_chunk_into_one_exact_copy():
    """float64 groups larger than a chunk become one float32 tensor equal to the plain
    conversion; NaN rows in several chunks are all counted; a uint8 group beside a float
    group is scaled to [0, 1]."""
    from sepclr.errors import InvalidInputError
    from sepclr.methods.validation import stack_groups

    rng = np.random.default_rng(0)
    background = rng.normal(size=(5000, 3, 4))
    target = rng.normal(size=(4200, 3, 4))
    stacked, is_target = stack_groups(background, target)
    expected = torch.from_numpy(np.concatenate([background, target])).float().unsqueeze(1)
    assert stacked.dtype == torch.float32
    assert torch.equal(stacked, expected)
    assert is_target.sum() == 4200 and not is_target[:5000].any()
    target[[10, 4100]] = np.nan
    with pytest.raises(InvalidInputError, match="target contains NaN or infinite values in 2"):
        stack_groups(background, target)
    pixels = rng.integers(0, 256, size=(7, 1, 4, 4), dtype=np.uint8)
    mixed, _ = stack_groups(pixels, pixels / 255.0, keep_uint8=True)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed[:7], mixed[7:])
