"""Checkpoints: a killed or signalled run resumes to the same result as an uninterrupted one;
damaged, foreign or malicious checkpoint files are refused without being executed."""

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

import sepclr
from sepclr.engine.checkpoint import CHECKPOINT_NAME
from sepclr.errors import CheckpointError, InvalidInputError

EPOCHS = 12
OPTIONS = {"epochs": EPOCHS, "batch_size": 32, "verbose": False, "device": "cpu", "seed": 1}

# The child trains with a pause at the start of every epoch, so that the parent can stop it
# in the middle of the run; the pause changes no computation.
CHILD = textwrap.dedent(
    """
    import sys, time
    import torch
    import sepclr
    from sepclr.engine import loop
    from sepclr.errors import TrainingInterruptedError

    torch.set_num_threads(1)
    split = loop.split_batches
    def slow_split(order, batch_size):
        time.sleep(0.25)
        return split(order, batch_size)
    loop.split_batches = slow_split

    method, directory, options = sys.argv[1], sys.argv[2], eval(sys.argv[3])
    data = sepclr.datasets.load("synthetic-tabular", n=96)
    try:
        getattr(sepclr, method)(**options).fit(
            data.background, data.target, checkpoint_dir=directory
        )
    except TrainingInterruptedError as exc:
        print(exc, flush=True)
        sys.exit(3)
    """
)


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def checkpoint_position(directory: Path) -> tuple[int, int] | None:
    path = directory / CHECKPOINT_NAME
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as handle:
            document = json.loads(handle.metadata()["sepclr"])
    except Exception:  # the file may be replaced while we read it
        return None
    return int(document["epoch"]), int(document["step"])


def start_child(tmp_path: Path, method: str, extra: dict | None = None) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    options = repr({**OPTIONS, **(extra or {})})
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.Popen(
        [sys.executable, str(script), method, str(tmp_path / "ckpt"), options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for_epoch(child: subprocess.Popen, directory: Path, epoch: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        position = checkpoint_position(directory)
        if position is not None and position[0] >= epoch:
            return
        if child.poll() is not None:
            pytest.fail(f"the child ended early: {child.stderr.read() if child.stderr else ''}")
        time.sleep(0.05)
    child.kill()
    pytest.fail("no checkpoint appeared within 120 s")


def without_seconds(history: list[dict]) -> list[dict]:
    """The history without the epochs' durations, which vary from run to run."""
    return [{k: v for k, v in epoch.items() if k != "seconds"} for epoch in history]


def assert_same_fit(resumed, reference) -> None:
    first, second = resumed._state_tensors(), reference._state_tensors()
    assert first.keys() == second.keys()
    for name in first:
        torch.testing.assert_close(first[name], second[name], rtol=0, atol=0, msg=name)
    assert without_seconds(resumed.history_) == without_seconds(reference.history_)


@pytest.mark.parametrize(
    ("method", "extra"),
    [("SepCLR", {"independence": "vclub-sym"}), ("ConVAE", {})],
    ids=["sepclr-vclub", "convae"],
)
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, one_thread, method, extra):
    data = sepclr.datasets.load("synthetic-tabular", n=96)
    child = start_child(tmp_path, method, extra)
    wait_for_epoch(child, tmp_path / "ckpt", 3)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    epoch, _ = checkpoint_position(tmp_path / "ckpt")
    assert 3 <= epoch < EPOCHS  # killed in the middle of the run

    cls = getattr(sepclr, method)
    resumed = cls(**OPTIONS, **extra).fit(
        data.background, data.target, checkpoint_dir=tmp_path / "ckpt", resume=True
    )
    reference = cls(**OPTIONS, **extra).fit(data.background, data.target)
    assert len(resumed.history_) == EPOCHS
    assert_same_fit(resumed, reference)


def test_sigterm_finishes_the_step_checkpoints_and_resumes_mid_epoch(tmp_path, one_thread):
    data = sepclr.datasets.load("synthetic-tabular", n=96)
    child = start_child(tmp_path, "SepCLR")
    wait_for_epoch(child, tmp_path / "ckpt", 2)
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 3
    assert "stopped by SIGTERM" in out and "resume=True" in out
    epoch, step = checkpoint_position(tmp_path / "ckpt")
    assert step > 0 and epoch < EPOCHS  # a checkpoint from inside an epoch

    resumed = sepclr.SepCLR(**OPTIONS).fit(
        data.background, data.target, checkpoint_dir=tmp_path / "ckpt", resume=True
    )
    reference = sepclr.SepCLR(**OPTIONS).fit(data.background, data.target)
    assert_same_fit(resumed, reference)


@pytest.fixture(scope="module")
def finished_checkpoint(tmp_path_factory):
    directory = tmp_path_factory.mktemp("finished")
    data = sepclr.datasets.load("synthetic-tabular", n=64)
    options = {**OPTIONS, "epochs": 2}
    sepclr.SepCLR(**options).fit(data.background, data.target, checkpoint_dir=directory)
    return directory, data, options


def test_resuming_a_finished_run_trains_nothing(finished_checkpoint):
    directory, data, options = finished_checkpoint
    model = sepclr.SepCLR(**options).fit(
        data.background, data.target, checkpoint_dir=directory, resume=True
    )
    reference = sepclr.SepCLR(**options).fit(data.background, data.target)
    assert_same_fit(model, reference)


def test_resume_refuses_other_parameters_or_data(finished_checkpoint):
    directory, data, options = finished_checkpoint
    with pytest.raises(CheckpointError, match=r"lr=0\.0003 \(now 0\.01\)"):
        sepclr.SepCLR(**{**options, "lr": 0.01}).fit(
            data.background, data.target, checkpoint_dir=directory, resume=True
        )
    with pytest.raises(CheckpointError, match="its data"):
        sepclr.SepCLR(**options).fit(
            data.background[::-1].copy(), data.target, checkpoint_dir=directory, resume=True
        )
    with pytest.raises(CheckpointError, match="its class"):
        sepclr.CVAE(epochs=2, verbose=False).fit(
            data.background, data.target, checkpoint_dir=directory, resume=True
        )
    with pytest.raises(InvalidInputError, match="needs checkpoint_dir"):
        sepclr.SepCLR(**options).fit(data.background, data.target, resume=True)


def test_damaged_checkpoints_are_refused(finished_checkpoint, tmp_path):
    directory, data, options = finished_checkpoint
    original = (directory / CHECKPOINT_NAME).read_bytes()
    rng = np.random.default_rng(0)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    cuts = [0, 1, 7, 8, 9, 100, *rng.integers(10, len(original) - 1, 6).tolist()]
    header_flip = bytearray(original)
    header_flip[20] ^= 0xFF
    for content in [original[:cut] for cut in cuts] + [bytes(header_flip)]:
        (damaged / CHECKPOINT_NAME).write_bytes(content)
        model = sepclr.SepCLR(**options)
        with pytest.raises(CheckpointError):
            model.fit(data.background, data.target, checkpoint_dir=damaged, resume=True)
        assert not hasattr(model, "encoder_")  # nothing half-loaded


def _rewrite_state(source: Path, target: Path, **changes) -> None:
    """Copy the checkpoint in ``source`` to ``target`` with its JSON state document changed."""
    from safetensors.torch import save_file

    with safe_open(str(source / CHECKPOINT_NAME), framework="pt") as handle:
        document = json.loads(handle.metadata()["sepclr"])
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    target.mkdir(exist_ok=True)
    save_file(
        tensors, target / CHECKPOINT_NAME, metadata={"sepclr": json.dumps(document | changes)}
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"epoch": "two"},
        {"epoch": -1},
        {"epoch": 5},
        {"step": 3},
        {"step": 1.5},
        {"sums": [1, 2]},
        {"history": {"loss": 1}},
        {"history": [{"loss": "low"}]},
        {"seconds": -4},
        {"optimizers": []},
        {"rng": {"python": 3}},
    ],
)
def test_a_checkpoint_with_an_invalid_training_state_is_refused_in_one_line(
    finished_checkpoint, tmp_path, changes
):
    directory, data, options = finished_checkpoint
    _rewrite_state(directory, tmp_path / "edited", **changes)
    model = sepclr.SepCLR(**options)
    with pytest.raises(CheckpointError, match="training state") as caught:
        model.fit(data.background, data.target, checkpoint_dir=tmp_path / "edited", resume=True)
    assert "\n" not in str(caught.value)
    assert not hasattr(model, "encoder_")


class _Payload:
    def __reduce__(self):
        return (Path.touch, (Path(os.environ["SEPCLR_TEST_MARKER"]),))


def test_a_pickle_where_a_checkpoint_should_be_is_not_executed(
    finished_checkpoint, tmp_path, monkeypatch
):
    _, data, options = finished_checkpoint
    marker = tmp_path / "executed"
    monkeypatch.setenv("SEPCLR_TEST_MARKER", str(marker))
    (tmp_path / CHECKPOINT_NAME).write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(CheckpointError):
        sepclr.SepCLR(**options).fit(
            data.background, data.target, checkpoint_dir=tmp_path, resume=True
        )
    assert not marker.exists()
    pickle.loads((tmp_path / CHECKPOINT_NAME).read_bytes())  # the payload does work...
    assert marker.exists()  # ...so the reader above never unpickled it


def test_a_diverging_run_leaves_the_last_checkpoint_intact(finished_checkpoint, monkeypatch):
    from sepclr.errors import TrainingDivergedError
    from sepclr.methods import sepclr_module

    directory, data, options = finished_checkpoint
    before = (directory / CHECKPOINT_NAME).read_bytes()
    original = sepclr_module.sepclr_objective

    def diverging(*args, **kwargs):
        loss, terms = original(*args, **kwargs)
        return loss * float("nan"), {**terms, "common": terms["common"] * float("nan")}

    monkeypatch.setattr(sepclr_module, "sepclr_objective", diverging)
    with pytest.raises(TrainingDivergedError, match="'common'"):
        sepclr.SepCLR(**{**options, "epochs": 3}).fit(
            data.background, data.target, checkpoint_dir=directory
        )
    assert (directory / CHECKPOINT_NAME).read_bytes() == before
