"""The single-process speed options: uint8 storage, mixed precision, channels-last,
torch.compile, backend switches and device choice. Each must leave the results as they are
(or, for lower precision, close to them)."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from loop_steps import run_step_function

from sepclr import SepCLR
from sepclr.engine import devices
from sepclr.engine.performance import StepSpeed, backend_settings
from sepclr.engine.training import TrainingData, TrainingPlan
from sepclr.methods.sepclr_module import SepCLRModule
from sepclr.methods.validation import stack_groups
from sepclr.nets.encoder import TwoBranchEncoder
from sepclr.nets.speed import default_channels_last, resolve_view_passes
from sepclr.objectives import SepCLRObjectiveSettings, build_independence


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


def _train(
    speed: StepSpeed, epochs: int = 2, view_passes: str = "fused", read_every: int | None = None
) -> tuple[list[dict[str, float]], dict]:
    torch.manual_seed(0)
    encoder = TwoBranchEncoder("convnet", (1, 16, 16), 4, 4, width=4)
    g = torch.Generator().manual_seed(1)
    inputs = torch.rand(64, 1, 16, 16, generator=g)
    is_target = torch.arange(64) % 2 == 0

    module = SepCLRModule(
        encoder,
        torch.nn.Identity(),
        build_independence("k-jem", 4, 4),
        SepCLRObjectiveSettings(),
        view_passes=view_passes,
    )
    plan = TrainingPlan(
        epochs, 32, 1e-3, torch.device("cpu"), speed=speed, verbose=False, read_every=read_every
    )
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


def test_separate_view_passes_normalise_each_view_alone():
    """passes=2 is exactly the encoder run on each half of the rows in turn (BatchNorm with
    each half's statistics), and differs from the fused pass."""
    torch.manual_seed(0)
    encoder = TwoBranchEncoder("convnet", (1, 16, 16), 4, 4, width=4)
    both = torch.rand(16, 1, 16, 16)
    separate = encoder(both, passes=2)
    halves = [encoder(half) for half in both.chunk(2)]
    for got, *parts in zip(separate, *halves, strict=True):
        torch.testing.assert_close(got, torch.cat(parts))
    fused = encoder(both)
    assert not torch.allclose(fused.common_rep, separate.common_rep, atol=1e-3)


def test_separate_view_passes_train_to_a_loss_close_to_the_fused_one():
    fused, _ = _train(StepSpeed(), view_passes="fused")
    separate, _ = _train(StepSpeed(), view_passes="separate")
    assert np.isfinite(separate[-1]["loss"])
    assert separate[0]["loss"] == pytest.approx(fused[0]["loss"], rel=0.05)


@pytest.mark.parametrize(
    ("device", "backbone", "expected"),
    [("cpu", "resnet18", "separate"), ("cpu", "convnet", "fused"), ("cuda", "resnet18", "fused")],
)
def test_auto_view_passes_follow_the_measurements(device, backbone, expected):
    assert resolve_view_passes("auto", torch.device(device), backbone) == expected
    assert resolve_view_passes("separate", torch.device(device), backbone) == "separate"


def test_reading_the_loss_every_few_steps_changes_nothing_but_when_it_is_read():
    every_step, weights = _train(StepSpeed(), read_every=1)
    every_third, weights_third = _train(StepSpeed(), read_every=3)
    for got, expected in zip(every_third, every_step, strict=True):
        for key in ("loss", "common", "independence"):
            assert got[key] == pytest.approx(expected[key], rel=1e-6)
    for key, value in weights.items():
        assert torch.equal(weights_third[key], value)


def test_a_diverging_loss_read_every_few_steps_names_the_steps():
    from sepclr.errors import TrainingDivergedError

    def step(idx, epoch, index):
        del idx, epoch
        value = float("nan") if index == 4 else 1.0
        return {"loss": torch.tensor(value), "common": torch.tensor(value)}

    with pytest.raises(TrainingDivergedError, match=r"epoch 1, steps 4-6: 'loss', 'common'"):
        run_step_function(step, 12, 2, 1, read_every=3)


def test_half_precision_without_cpu_instructions_warns(monkeypatch):
    from sepclr.engine import performance
    from sepclr.errors import SepCLRWarning

    monkeypatch.setattr(performance, "native_precision", lambda precision, device: False)
    with pytest.warns(SepCLRWarning, match="no bfloat16 instructions"):
        _model(precision="bfloat16").set_params(epochs=1).fit(*_images())
    monkeypatch.setattr(performance, "native_precision", lambda precision, device: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SepCLRWarning)
        _model(precision="bfloat16").set_params(epochs=1).fit(*_images())


def test_default_layout_trains_the_resnet_that_hung_channels_last_convolutions():
    """ResNet-18 at width 1 (4-channel layers) on 48-pixel images: oneDNN's channels-last
    convolutions never finished there, so the CPU default must keep the standard layout."""
    script = (
        "import numpy as np\n"
        "from sepclr import SepCLR\n"
        "x = np.random.default_rng(0).random((8, 1, 48, 48), dtype=np.float32)\n"
        "SepCLR(4, 4, backbone='resnet18', width=1, epochs=1, batch_size=8, verbose=False,\n"
        "       device='cpu').fit(x, x + 0.5)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], timeout=300, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert not default_channels_last(torch.device("cpu"), True, "resnet18")
