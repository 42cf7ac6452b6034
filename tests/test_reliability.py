"""Faults and a newcomer's mistakes: each gets one line on stderr and exit 1 (or a clear
exception in Python), checked before anything is written, and no run is lost or mixed."""

import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runs import CVAE, TABULAR, fit, one_line_error, snapshot
from loop_steps import run_step_function
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

import sepclr
from sepclr import cli
from sepclr.engine.files import write_text
from sepclr.errors import (
    CheckpointError,
    DataNotFoundError,
    InvalidInputError,
    SepCLRWarning,
    StorageError,
)
from sepclr.methods.standardiser import Standardiser


@pytest.fixture
def run(tmp_path) -> Path:
    out = tmp_path / "run"
    assert fit(out) == 0
    return out


# --- output folders ---------------------------------------------------------------------


def test_an_out_holding_a_run_is_refused_and_left_as_it_was(run, capsys):
    before = snapshot(run)
    assert fit(run) == 1
    assert "--resume" in one_line_error(capsys) and snapshot(run) == before
    assert fit(run, "--epochs", "-4") == 1  # a rejected command does not rewrite run.json
    assert snapshot(run) == before


def test_overwrite_replaces_the_run_and_keeps_other_files(run, capsys):
    (run / "notes.txt").write_text("mine")
    cpca = ["--method", "cpca", "--common-dim", "4", "--salient-dim", "4"]
    assert cli.main(["fit", *TABULAR, *cpca, "--out", str(run), "--overwrite"]) == 0
    assert not (run / "checkpoint").exists()
    assert (run / "notes.txt").read_text() == "mine"
    assert json.loads((run / "run.json").read_text())["method"] == "cpca"
    before = snapshot(run)
    assert fit(run, "--overwrite", "--epochs", "-4") == 1  # refused before removing anything
    assert snapshot(run) == before


def test_a_refused_run_leaves_no_folder(tmp_path, capsys):
    out = tmp_path / "new"
    argv = ["fit", *TABULAR, "--method", "cpca", "--common-dim", "50", "--out", str(out)]
    assert cli.main(argv) == 1
    one_line_error(capsys)
    assert not out.exists()


def test_writes_clean_stale_temporary_files_and_follow_the_umask(tmp_path):
    stale = tmp_path / ".run.json.x1y2.tmp"
    stale.write_text("left by a killed write")
    previous = os.umask(0o022)
    try:
        write_text(tmp_path / "run.json", "{}")
    finally:
        os.umask(previous)
    assert not stale.exists()
    assert (tmp_path / "run.json").stat().st_mode & 0o777 == 0o644


def test_a_resumed_run_counts_the_time_of_its_earlier_part(tmp_path):
    data = sepclr.datasets.load("synthetic-tabular", n=40)
    fast = {"epochs": 3, "batch_size": 16, "verbose": False, "device": "cpu"}
    model = sepclr.CVAE(**fast).fit(data.background, data.target, checkpoint_dir=tmp_path)
    resumed = sepclr.CVAE(**fast).fit(
        data.background, data.target, checkpoint_dir=tmp_path, resume=True
    )  # nothing left to train: all of its time is the earlier part's
    assert model.train_seconds_ > 0
    assert resumed.train_seconds_ == pytest.approx(model.train_seconds_, abs=0.5)


# --- one line on stderr and exit 1 --------------------------------------------------------


def test_an_out_that_is_a_file_or_under_one_is_refused_before_loading(tmp_path, capsys):
    file = tmp_path / "file"
    file.write_text("x")
    assert fit(file) == 1
    assert "is a file" in one_line_error(capsys)
    assert fit(file / "sub") == 1
    assert "cannot write" in one_line_error(capsys)


def test_a_full_disk_is_one_line_and_leaves_no_half_file(tmp_path, capsys, monkeypatch):
    def no_space(*args, **kwargs):
        raise SafetensorError("Error while serializing: No space left on device (os error 28)")

    monkeypatch.setattr("sepclr.engine.persistence.save_file", no_space)
    out = tmp_path / "run"
    assert fit(out) == 1
    assert "No space left" in one_line_error(capsys)
    assert not list(out.glob("*.tmp")) and not (out / "weights.safetensors").exists()


@pytest.mark.parametrize(
    "content", ["", '{"dataset": "synthetic-tabular"', '{"dataset": 3}', "[1, 2]", "[" * 100_000]
)
def test_a_broken_run_file_is_one_line(run, capsys, content):
    (run / "run.json").write_text(content)
    assert cli.main(["evaluate", str(run)]) == 1
    one_line_error(capsys)
    assert cli.main(["fit", "--resume", str(run)]) == 1
    one_line_error(capsys)


def test_saving_a_model_into_a_file_is_refused(tmp_path):
    data = sepclr.datasets.load("synthetic-tabular", n=40)
    model = sepclr.CPCA(2, 2).fit(data.background, data.target)
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="is a file"):
        model.save(tmp_path / "file")


def test_a_data_dir_with_some_of_the_files_says_which_are_missing(tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(DataNotFoundError, match="only some of the fashion-mnist files"):
        sepclr.datasets.load("digits-on-fashion", root=tmp_path)


def test_a_corrupt_test_split_is_found_before_training(tmp_path, capsys, monkeypatch):
    from sepclr import run as run_module

    original = run_module.load_or_fetch

    def broken_test(name, root, split, options, fetch=True):
        if split == "test":
            raise sepclr.errors.CorruptFileError("test file damaged")
        return original(name, root, split, options, fetch)

    monkeypatch.setattr(run_module, "load_or_fetch", broken_test)
    out = tmp_path / "run"
    assert cli.main(["fit", *TABULAR, "--method", "cvae", "--epochs", "1", "--out", str(out)]) == 1
    assert "test file damaged" in one_line_error(capsys)
    assert not out.exists()


# --- model files --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("saved") / "model"
    data = sepclr.datasets.load("synthetic-tabular", n=40)
    model = sepclr.CVAE(epochs=1, batch_size=16, verbose=False, device="cpu")
    model.fit(data.background, data.target).save(folder)
    return folder


@pytest.fixture
def saved(trained_once, tmp_path) -> Path:
    """A copy of the module's saved model, for a test to damage."""
    return Path(shutil.copytree(trained_once, tmp_path / "model"))


def _edit_tensors(folder: Path, edit) -> None:
    """Change the saved tensors, keeping the header that ties them to config.json."""
    with safe_open(folder / "weights.safetensors", framework="pt") as handle:
        header = handle.metadata()
    tensors = load_file(folder / "weights.safetensors")
    edit(tensors)
    save_file(tensors, folder / "weights.safetensors", metadata=header)


def _edit_config(folder: Path, edit) -> None:
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.update({"standardiser.mean": torch.zeros(3)}), "standardiser.mean"),
        (lambda t: t.update({"standardiser.scale": torch.zeros(20)}), "not positive"),
        (
            lambda t: t.update({"standardiser.mean": t["standardiser.mean"].double()}),
            "float32",
        ),
        (lambda t: t[next(k for k in t if k.endswith("weight"))].fill_(float("nan")), "NaN"),
    ],
)
def test_damaged_tensors_are_refused_at_load(saved, edit, message):
    _edit_tensors(saved, edit)
    with pytest.raises(CheckpointError, match=message):
        sepclr.load(saved)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["fitted"].update({"sample_shape": "abc"}), "sample_shape"),
        (lambda c: c["params"].update({"epochs": "many"}), "epochs"),
        (lambda c: c.update({"format_version": "1"}), "whole number, got '1'"),
    ],
)
def test_a_damaged_configuration_is_refused_at_load(saved, edit, message):
    _edit_config(saved, edit)
    with pytest.raises(CheckpointError, match=message):
        sepclr.load(saved)


def test_deeply_nested_configuration_is_refused(saved):
    (saved / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match="not valid JSON"):
        sepclr.load(saved)


def test_transform_refuses_to_return_non_finite_codes(saved):
    model = sepclr.load(saved)
    with pytest.raises(InvalidInputError, match="not finite"):
        model.transform(np.full((2, 20), 3e38, dtype=np.float32))


# --- input that would train into garbage ----------------------------------------------------


def test_the_standardiser_floor_follows_the_data_scale():
    x = torch.randn(100, 4, generator=torch.Generator().manual_seed(0))
    small, unit = Standardiser.fit(x * 1e-9), Standardiser.fit(x)
    torch.testing.assert_close(small(x * 1e-9), unit(x), rtol=1e-3, atol=1e-4)
    constant = Standardiser.fit(torch.cat([x, torch.full((100, 1), 5.0)], dim=1))
    assert constant.scale[-1] == 1.0


@pytest.mark.parametrize(
    ("background", "target", "message"),
    [
        (np.random.rand(32, 1, 16, 16) * 255, np.random.rand(32, 1, 16, 16), "images of dtype"),
        (
            np.ones((32, 1, 16, 16), dtype=np.int64),
            np.zeros((32, 1, 16, 16), dtype=np.int64),
            "int64",
        ),
        (
            np.random.rand(32, 5).astype(np.float32),
            np.random.rand(32, 5),
            "background is torch.float32",
        ),
        (np.random.rand(32, 5), 100 * np.random.rand(32, 5), "different value ranges"),
    ],
)
def test_doubtful_inputs_warn(background, target, message):
    model = sepclr.SepCLR(epochs=0, verbose=False, device="cpu")
    with pytest.warns(SepCLRWarning, match=message):
        model.fit(background, target)


@pytest.mark.parametrize(
    ("background", "message"),
    [
        (np.ones((32, 5)), "nothing to learn"),
        (np.ones((32, 0)), "hold no values"),
        (np.full((32, 5), 1e39), "beyond the float32 range"),
        (torch.eye(32, 5).to_sparse(), "dense"),
        (torch.empty(32, 5, device="meta"), "meta device"),
    ],
)
def test_impossible_inputs_are_refused(background, message):
    target = (
        background
        if isinstance(background, np.ndarray) and message != "beyond the float32 range"
        else np.ones((32, 5))
    )
    with pytest.raises(InvalidInputError, match=message):
        sepclr.SepCLR(epochs=0, verbose=False, device="cpu").fit(background, target)


def test_a_loss_that_grows_by_orders_of_magnitude_warns_once():
    losses = iter([1.0, 1.0, 5e3, 5e3, 1e5, 1e5])

    def step(idx, epoch, index):
        return {"loss": torch.tensor(next(losses))}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_step_function(step, 4, 2, 3)
    grown = [w for w in caught if issubclass(w.category, SepCLRWarning)]
    assert len(grown) == 1 and "grew from 1 to 5e+03" in str(grown[0].message)


# --- a newcomer's path ----------------------------------------------------------------------


def test_datasets_name_lists_the_options(capsys):
    assert cli.main(["datasets", "table-study"]) == 0
    out = capsys.readouterr().out
    assert "group_column (default 'group'): The column that tells the groups apart." in out
    assert cli.main(["datasets", "tabel-study"]) == 1
    assert "did you mean 'table-study'?" in one_line_error(capsys)


def _study(folder: Path, with_factor: bool = True) -> None:
    rng = np.random.default_rng(0)
    rows = ["group,x1,x2,x3,f3"] + [
        f"{g},{rng.normal()},{rng.normal()},{rng.normal() + (g == 'treated')},{i % 2}"
        for i, g in enumerate(["control", "treated"] * 40)
    ]
    if not with_factor:
        rows = [",".join(r.split(",")[:4]) for r in rows]
    (folder / "data.csv").write_text("\n".join(rows) + "\n")


def test_a_plain_name_for_a_list_option_and_relative_paths(tmp_path, monkeypatch, capsys):
    _study(tmp_path)
    monkeypatch.chdir(tmp_path)
    argv = ["fit", "--dataset", "table-study", "--dataset-option", "factors=f3"]
    argv += ["--dataset-option", "table=data.csv", *CVAE[:6], "--out", "run", "--quiet"]
    assert cli.main(argv) == 0
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["dataset_options"]["table"] == str(tmp_path / "data.csv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert cli.main(["evaluate", str(tmp_path / "run")]) == 0
    assert "S_f3" in capsys.readouterr().out


def test_a_run_without_factors_says_so(tmp_path, monkeypatch, capsys):
    _study(tmp_path, with_factor=False)
    monkeypatch.chdir(tmp_path)
    argv = ["fit", "--dataset", "table-study", *CVAE[:6], "--out", "run", "--quiet", "--plot"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "No factors to probe" in out and "delta_TOT" not in out
    written = (tmp_path / "run" / "results.md").read_text()
    assert "No factors to probe" in written and "salient_auc" in written


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--size", "small"], "--size applies to digits-on-fashion, synthetic-brain"),
        (["--devices", "0"], "at least 1"),
    ],
)
def test_refusals_name_the_valid_choices(tmp_path, capsys, extra, message):
    assert fit(tmp_path / "run", *extra) == 1
    assert message in one_line_error(capsys)
