"""The fault matrix: each probe of a hostile user, file or signal gets a correct result or one
clear line, and no run is lost or mixed. Silent faults first (wrong codes or a lost run with
exit status 0), then tracebacks turned into one line, then messages that must name the fix."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from cli_runs import CVAE, TABULAR, fit, one_line_error, snapshot

import sepclr
from sepclr import cli, run
from sepclr.data.readers import read_columns, read_npy
from sepclr.engine.files import atomic_write
from sepclr.errors import (
    CheckpointError,
    CorruptFileError,
    FolderInUseError,
    InvalidInputError,
    TrainingInterruptedError,
)

SIZE_FULL = ["--dataset-option", "size=full", "--out", "x"]
FAST = {"epochs": 1, "batch_size": 16, "verbose": False, "device": "cpu"}


def write_study(path: Path, columns: list[str], rows: int = 60, seed: int = 0) -> None:
    """A table-study CSV: a group column, then numeric columns; targets shifted."""
    rng = np.random.default_rng(seed)
    lines = [",".join(["group", *columns])]
    for i in range(rows):
        shift = np.arange(len(columns)) / 4 if i % 2 == 0 else 0.0
        values = rng.normal(size=len(columns)) + shift
        lines.append(",".join(["treated" if i % 2 == 0 else "control", *map(str, values)]))
    path.write_text("\n".join(lines) + "\n")


def reorder_columns(source: Path, target: Path, order) -> None:
    rows = [line.split(",") for line in source.read_text().splitlines()]
    target.write_text("\n".join(",".join(row[i] for i in order(len(row))) for row in rows) + "\n")


@pytest.fixture(scope="module")
def table_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("study")
    write_study(folder / "data.csv", [f"f{i}" for i in range(6)])
    out = folder / "run"
    argv = ["fit", "--dataset", "table-study", "--data-dir", str(folder), "--quiet"]
    assert cli.main([*argv, *CVAE, "--out", str(out)]) == 0
    return out


# --- silent wrong results and lost runs ---------------------------------------------------


def test_transform_reads_a_table_by_column_name(table_run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    data = table_run.parent / "data.csv"
    reversed_table = tmp_path / "reversed.csv"
    reorder_columns(data, reversed_table, lambda n: [0, *range(n - 1, 0, -1)])
    assert cli.main(["transform", str(table_run), "--input", str(data), "--out", "a.npz"]) == 0
    assert (
        cli.main(["transform", str(table_run), "--input", str(reversed_table), "--out", "b.npz"])
        == 0
    )
    np.testing.assert_array_equal(np.load("a.npz")["salient"], np.load("b.npz")["salient"])
    dropped = tmp_path / "dropped.csv"
    reorder_columns(data, dropped, lambda n: range(n - 1))
    assert cli.main(["transform", str(table_run), "--input", str(dropped), "--out", "c.npz"]) == 1
    err = one_line_error(capsys)
    assert "dropped.csv has no 'f5', which the model was fitted on" in err
    extra = tmp_path / "extra.csv"
    extra.write_text("\n".join(line + ",1" for line in data.read_text().splitlines()) + "\n")
    extra.write_text(extra.read_text().replace("f5,1", "f5,f6", 1))
    assert cli.main(["transform", str(table_run), "--input", str(extra), "--out", "c.npz"]) == 1
    assert "extra.csv has 'f6', which the model was not fitted on" in one_line_error(capsys)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_header_that_names_a_column_twice_is_refused(tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    if suffix == ".csv":
        path.write_text("group,f0,f1,f1\ncontrol,1,2,3\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table([[1.0], [2.0], [3.0]], names=["f0", "f1", "f1"]), path)
    with pytest.raises(CorruptFileError, match="'f1' twice"):
        read_columns(path)


def test_two_fits_into_one_folder_at_once_exactly_one_proceeds(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "sepclr", "fit", "--dataset", "synthetic-tabular", "--quiet"]
    argv += ["--dataset-option", "n=300", "--epochs", "30", "--no-evaluate", "--out", str(out)]
    methods = ("sepclr", "convae")
    processes = [
        subprocess.Popen([*argv, "--method", m], stderr=subprocess.PIPE, text=True) for m in methods
    ]
    results = [(p.pid, p.wait(timeout=300), p.stderr.read()) for p in processes]  # type: ignore[union-attr]
    winners = [r for r in results if r[1] == 0]
    losers = [r for r in results if r[1] != 0]
    assert len(winners) == 1 and len(losers) == 1, results
    assert f"is in use by process {winners[0][0]}" in losers[0][2]
    assert len(losers[0][2].strip().splitlines()) == 1
    saved = json.loads((out / "config.json").read_text())["class"]
    assert saved == {"sepclr": "SepCLR", "convae": "ConVAE"}[methods[results.index(winners[0])]]
    assert not (out / ".sepclr.lock").exists()


KILL_AT_RENAME = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    import sepclr
    data = sepclr.datasets.load("synthetic-tabular", n=40)
    model = sepclr.CPCA(2, 2, seed=1).fit(data.background, data.target)
    calls = {"n": 0}
    original = os.replace
    def replace(source, target):
        calls["n"] += 1
        if calls["n"] == int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
        original(source, target)
    os.replace = replace
    model.save(sys.argv[1])
    """
)


@pytest.mark.parametrize("rename", [1, 2])
def test_a_save_killed_at_either_rename_never_loads_a_mixed_model(tmp_path, rename):
    data = sepclr.datasets.load("synthetic-tabular", n=40)
    old = sepclr.CPCA(2, 2, seed=0, standardize=False).fit(data.background, data.target)
    old.save(tmp_path / "model")
    script = [sys.executable, "-c", KILL_AT_RENAME, str(tmp_path / "model"), str(rename)]
    assert subprocess.run(script, check=False).returncode == -signal.SIGKILL
    if rename == 1:  # killed before the weights were renamed: the old model, whole
        loaded = sepclr.load(tmp_path / "model")
        assert not loaded.standardize
        np.testing.assert_array_equal(
            loaded.transform(data.target)[1], old.transform(data.target)[1]
        )
    else:  # new weights, old config.json: refused
        with pytest.raises(CheckpointError, match="come from two different saves"):
            sepclr.load(tmp_path / "model")


@pytest.fixture
def cvae_run(tmp_path) -> Path:
    out = tmp_path / "run"
    assert fit(out) == 0
    return out


def test_overwrite_removes_a_symlinked_checkpoint_but_not_what_it_points_to(cvae_run, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (cvae_run / "checkpoint").rename(elsewhere)
    (cvae_run / "checkpoint").symlink_to(elsewhere)
    before = snapshot(elsewhere)
    assert fit(cvae_run, "--overwrite") == 0
    assert snapshot(elsewhere) == before
    assert (cvae_run / "checkpoint").is_dir() and not (cvae_run / "checkpoint").is_symlink()
    assert not (cvae_run / ".sepclr-replaced").exists()


def test_overwrite_that_cannot_move_a_file_changes_nothing(cvae_run, monkeypatch, capsys):
    (cvae_run / "results.md").write_text("old report")
    before = snapshot(cvae_run)
    original = os.rename

    def immutable(source, target):
        if Path(source).name == "results.md":
            raise PermissionError(1, "Operation not permitted")
        original(source, target)

    monkeypatch.setattr(os, "rename", immutable)
    assert fit(cvae_run, "--overwrite") == 1
    assert "results.md cannot be moved (Operation not permitted); nothing was changed" in (
        one_line_error(capsys)
    )
    assert snapshot(cvae_run) == before


def test_overwrite_by_a_run_that_fails_puts_the_old_run_back(cvae_run, capsys):
    before = snapshot(cvae_run)
    argv = ["fit", *TABULAR, "--method", "cpca", "--common-dim", "50", "--overwrite"]
    assert cli.main([*argv, "--out", str(cvae_run)]) == 1  # refused inside fit, by the data
    assert "larger than the number of features" in one_line_error(capsys)
    assert snapshot(cvae_run) == before


def test_a_run_that_never_reached_its_first_checkpoint_does_not_block_its_folder(
    cvae_run, tmp_path, capsys
):
    out = tmp_path / "killed"
    out.mkdir()
    (out / "run.json").write_text((cvae_run / "run.json").read_text())
    assert cli.main(["fit", "--resume", str(out)]) == 1
    assert "start it again without --resume" in one_line_error(capsys)
    assert fit(out) == 0
    assert sepclr.load(out).history_


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["select", *TABULAR, "--candidates", "", "--out", "x"], "--candidates names no candidate"),
        (["bench", *TABULAR[:2], "--methods", "cpca", "--seeds", "0", "--out", "x"], "at least 1"),
        (["bench", *TABULAR[:2], "--methods", "cpca", "--seeds", "-1", "--out", "x"], "got -1"),
        (["fit", *TABULAR, "--epochs", "3", "--set", "epochs=1", "--out", "x"], "given twice"),
        (["fit", *TABULAR, "--set", "lr=1", "--set", "lr=2", "--out", "x"], "names lr twice"),
        (["fit", *TABULAR, "--dataset-option", "n=3", "--out", "x"], "names n twice"),
        (
            ["fit", "--dataset", "digits-on-fashion", "--size", "small", *SIZE_FULL],
            "the size is given twice",
        ),
    ],
)
def test_commands_that_would_do_something_else_are_refused(
    tmp_path, monkeypatch, capsys, argv, message
):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 1
    assert message in one_line_error(capsys)
    assert not (tmp_path / "x").exists()


# --- one input gate: arrays -----------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype", [np.longdouble, ">f4", ">f8", "<f2", np.uint16, np.uint32, np.uint64, ">i4"]
)
def test_every_real_dtype_is_converted_safely(dtype):
    rng = np.random.default_rng(0)
    background, target = rng.uniform(0, 50, (32, 6)), rng.uniform(10, 60, (32, 6))
    model = sepclr.CPCA(2, 2).fit(background.astype(dtype), target.astype(dtype))
    exact = [x.astype(dtype).astype(np.float64) for x in (background, target)]
    reference = sepclr.CPCA(2, 2).fit(*exact)
    np.testing.assert_allclose(
        model.transform(target.astype(dtype))[1], reference.transform(exact[1])[1], atol=1e-4
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"seed": 2**70}, "seed must be >= 0 and <= 4294967295"),
        ({"seed": 10**400}, "seed must be >= 0 and <= 4294967295, got 1000000000"),
        ({"common_dim": 10**12}, "more than the .* of memory free here; lower common_dim"),
        ({"width": 10**7}, "parameters\\) needs about .* PB"),
    ],
)
def test_parameters_beyond_what_a_machine_holds_are_refused_before_allocation(params, message):
    data = sepclr.datasets.load("synthetic-tabular", n=40)
    with pytest.raises(InvalidInputError, match=message):
        sepclr.SepCLR(**FAST, **params).fit(data.background, data.target)


def test_a_dataset_larger_than_memory_is_refused_before_allocation(tmp_path, capsys):
    argv = ["fit", "--dataset", "synthetic-tabular", "--dataset-option", f"n={10**12}"]
    assert cli.main([*argv, "--out", str(tmp_path / "x")]) == 1
    assert "needs about 1.01 PB, more than the" in one_line_error(capsys)


def test_float32_data_near_its_limit_is_standardised_in_float64():
    rng = np.random.default_rng(0)
    background = (rng.normal(size=(40, 6)) * 1e37).astype(np.float32)
    model = sepclr.CVAE(**FAST).fit(background, background + np.float32(1e37))
    assert np.isfinite(model.transform(background)[1]).all()
    with pytest.raises(InvalidInputError, match="reach 1e\\+37: float32 arithmetic overflows"):
        images = np.full((8, 1, 16, 16), 1e37, dtype=np.float32)
        sepclr.CVAE(**FAST).fit(images, images * 0.5)


# --- one input gate: files ------------------------------------------------------------------


def _npy(kind: str, path: Path) -> Path:
    if kind == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(300))
    elif kind == "truncated":
        np.save(path, np.zeros((5, 6), np.float32))
        path.write_bytes(path.read_bytes()[:150])
    else:
        np.save(path, np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("random bytes", "does not start with numpy's header"),
        ("truncated", "it may be truncated"),
        ("objects", "holds Python objects, not numbers"),
    ],
)
def test_a_foreign_npy_file_is_one_line(tmp_path, kind, message):
    with pytest.raises(CorruptFileError, match=message):
        read_npy(_npy(kind, tmp_path / "x.npy"))


def test_a_big_endian_npy_is_encoded_like_a_native_one(table_run, tmp_path):
    x = np.random.default_rng(0).normal(size=(5, 6))
    np.save(tmp_path / "big.npy", x.astype(">f8"))
    np.save(tmp_path / "native.npy", x)
    written = [
        np.load(run.transform(table_run, tmp_path / f"{name}.npy", tmp_path / f"{name}.npz"))
        for name in ("big", "native")
    ]
    np.testing.assert_array_equal(written[0]["salient"], written[1]["salient"])


@pytest.mark.parametrize("name", ["data.parquet", "data.h5ad", "data.npy"])
def test_a_garbage_file_is_one_line_naming_it_at_fit_and_at_transform(
    table_run, tmp_path, capsys, name
):
    garbage = tmp_path / name
    garbage.write_bytes(b"\x00garbage" * 40)
    argv = ["transform", str(table_run), "--input", str(garbage), "--out", str(tmp_path / "c.npz")]
    assert cli.main(argv) == 1
    assert f"{garbage} is not a" in one_line_error(capsys)
    if name == "data.parquet":
        argv = ["fit", "--dataset", "table-study", "--data-dir", str(tmp_path), "--quiet"]
        argv += ["--dataset-option", f"table={name}", "--out", str(tmp_path / "r")]
        assert cli.main(argv) == 1
        assert "is not a readable Parquet file" in one_line_error(capsys)
        assert not (tmp_path / "r").exists()


def test_a_run_file_with_an_unknown_parameter_is_one_line_on_resume(cvae_run, capsys):
    document = json.loads((cvae_run / "run.json").read_text())
    document["params"]["bogus"] = 1
    (cvae_run / "run.json").write_text(json.dumps(document))
    assert cli.main(["fit", "--resume", str(cvae_run)]) == 1
    assert "run.json: CVAE has no parameter bogus" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("", "column 'f2', line 4: an empty cell; fill it \\(at fit"),
        ("abc", "column 'f2', line 4: 'abc' is not a number"),
        ("1e40", "column 'f2', line 4: 1e\\+40 is beyond the float32 range"),
        ("nan", "column 'f2', line 4: a missing value"),
    ],
)
def test_a_bad_cell_is_named_by_column_and_line_at_fit_and_at_transform(
    table_run, tmp_path, cell, message
):
    lines = (table_run.parent / "data.csv").read_text().splitlines()
    row = lines[3].split(",")
    row[3] = cell
    lines[3] = ",".join(row)
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow warning on the way
        with pytest.raises(InvalidInputError, match=message):
            sepclr.datasets.load("table-study", root=tmp_path)
        with pytest.raises(InvalidInputError, match=message):
            run.transform(table_run, tmp_path / "data.csv", tmp_path / "c.npz")


# --- messages that name the fix ---------------------------------------------------------------


def test_a_preset_for_other_data_says_its_settings_come_from_it(tmp_path, capsys):
    argv = ["fit", "--dataset", "synthetic-tabular", "--preset", "cifar-mnist"]
    assert cli.main([*argv, "--out", str(tmp_path / "r")]) == 1
    assert "--preset cifar-mnist is made for cifar-mnist" in one_line_error(capsys)
    assert not (tmp_path / "r").exists()


def test_a_configuration_that_disagrees_with_the_weights_is_one_line_and_builds_nothing(
    tmp_path,
):
    data = sepclr.datasets.load("synthetic-tabular", n=40)
    sepclr.SepCLR(**FAST).fit(data.background, data.target).save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["params"]["width"] = 10**6  # a model of about 10^12 parameters if it were built
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="is \\(128,\\) in the weights but") as raised:
        sepclr.load(tmp_path / "m")
    assert "\n" not in str(raised.value)


def test_argparse_errors_are_one_line_with_status_1(capsys):
    assert cli.main(["fit", "--epochs", "x"]) == 1
    assert "invalid int value: 'x' (see `sepclr fit --help`)" in one_line_error(capsys)
    assert cli.main([]) == 1
    one_line_error(capsys)


def test_only_sepclr_warnings_reach_stderr_each_in_one_line(tmp_path, monkeypatch, capsys):
    from sepclr.evaluation import run_report

    original = run_report.label_free_diagnostics

    def noisy(*args, **kwargs):
        warnings.warn("a library's warning", UserWarning, stacklevel=1)
        np.log(np.zeros(1))  # numpy's RuntimeWarning
        warnings.warn("check the data", sepclr.errors.SepCLRWarning, stacklevel=1)
        return original(*args, **kwargs)

    monkeypatch.setattr(run_report, "label_free_diagnostics", noisy)
    argv = ["fit", *TABULAR, "--method", "cpca", "--common-dim", "2", "--salient-dim", "2"]
    assert cli.main([*argv, "--out", str(tmp_path / "r")]) == 0
    assert capsys.readouterr().err == "sepclr: warning: check the data\n"


def test_sigterm_while_the_model_is_saved_finishes_the_save_then_says_so(tmp_path, monkeypatch):
    settings = run.settings(
        "synthetic-tabular", method="cvae", params=FAST, dataset_options={"n": 40}
    )
    original = sepclr.CVAE.save

    def save_under_sigterm(model, directory):
        os.kill(os.getpid(), signal.SIGTERM)
        return original(model, directory)

    monkeypatch.setattr(sepclr.CVAE, "save", save_under_sigterm)
    with pytest.raises(
        TrainingInterruptedError, match="stopped by SIGTERM after training; the model is saved"
    ):
        run.fit(settings, tmp_path / "r", run.Options(verbose=False))
    assert sepclr.load(tmp_path / "r").history_
    assert (tmp_path / "r" / "run.json").is_file() and not (tmp_path / "r" / "results.md").exists()


def test_a_write_leaves_nothing_behind_and_removes_what_a_killed_one_left(tmp_path):
    stale = tmp_path / ".weights.safetensors.k1ll.tmp"
    stale.mkdir()
    (stale / ".tmpXYZ123").write_bytes(b"a writer's own temporary file")
    seen = []

    def write(path: str) -> None:
        seen.append(Path(path).parent)
        (Path(path).parent / ".tmpABC").write_bytes(b"left by the writer")
        Path(path).write_bytes(b"content")

    atomic_write(tmp_path / "weights.safetensors", write)
    assert (tmp_path / "weights.safetensors").read_bytes() == b"content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.safetensors"]
    assert seen[0].parent == tmp_path and not seen[0].exists()


def test_a_folder_held_by_another_process_is_refused_with_its_holder(tmp_path, capsys):
    from sepclr.engine.lock import FolderLock

    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path;"
         "from sepclr.engine.lock import FolderLock\n"
         "with FolderLock(Path(sys.argv[1])):\n print('held', flush=True); time.sleep(60)",
         str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"  # type: ignore[union-attr]
        assert fit(out) == 1
        assert f"{out} is in use by process {holder.pid}" in one_line_error(capsys)
        with pytest.raises(FolderInUseError), FolderLock(out):
            pytest.fail(f"{out} was locked a second time while another process held it")
    finally:
        holder.kill()
        holder.wait()
    assert fit(out) == 0  # the kernel released the lock of the killed holder


def test_an_overwrite_killed_before_its_first_checkpoint_leaves_the_old_run(cvae_run, capsys):
    before = snapshot(cvae_run)
    aside = cvae_run / ".sepclr-replaced"
    aside.mkdir()
    for path in list(cvae_run.iterdir()):
        if path != aside:
            path.rename(aside / path.name)
    (cvae_run / "run.json").write_text("{}")  # all the killed replacement wrote
    assert fit(cvae_run) == 1
    assert "already holds a run" in one_line_error(capsys)
    assert snapshot(cvae_run) == before
