import json

import numpy as np
import pytest

import sepclr
from sepclr import cli
from sepclr.data import locations


def test_fit_evaluate_and_plot(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli.main(
        [
            "fit",
            "--dataset",
            "synthetic-tabular",
            "--out",
            str(out),
            "--epochs",
            "2",
            "--batch-size",
            "64",
            "--quiet",
            "--plot",
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    assert (out / "config.json").is_file() and (out / "weights.safetensors").is_file()
    assert (out / "spaces.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((out / "results.json").read_text())
    rows = results["rows"]
    assert set(rows) == {"SepCLR (synthetic-tabular)", "untrained encoder (floor)", "best expected"}
    assert "delta_TOT" in rows["SepCLR (synthetic-tabular)"]
    printed = capsys.readouterr().out
    assert "| untrained encoder (floor) |" in printed

    (out / "results.json").unlink()
    assert cli.main(["evaluate", str(out)]) == 0
    again = json.loads((out / "results.json").read_text())["rows"]
    assert again["SepCLR (synthetic-tabular)"] == rows["SepCLR (synthetic-tabular)"]


def test_fit_any_method_with_its_own_parameters(tmp_path, capsys):
    out = tmp_path / "convae"
    argv = ["fit", "--dataset", "synthetic-tabular", "--method", "convae", "--out", str(out)]
    argv += ["--epochs", "1", "--common-dim", "3", "--set", "tc_weight=2.5", "--quiet"]
    assert cli.main(argv) == 0
    model = sepclr.load(out)
    assert type(model) is sepclr.ConVAE and model.tc_weight == 2.5 and model.common_dim == 3
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert set(rows) == {"ConVAE (synthetic-tabular)", "untrained encoder (floor)", "best expected"}

    cpca = ["fit", "--dataset", "synthetic-tabular", "--method", "cpca", "--out", str(out)]
    cpca += ["--overwrite"]
    assert cli.main([*cpca, "--common-dim", "4", "--salient-dim", "4", "--set", "alpha=2"]) == 0
    assert sepclr.load(out).alpha_ == 2.0
    assert not (out / "checkpoint").exists()  # the ConVAE run's files are gone, not mixed in
    capsys.readouterr()
    assert cli.main([*cpca, "--epochs", "3"]) == 1
    assert "CPCA has no parameter epochs" in capsys.readouterr().err

    paper = ["fit", "--dataset", "synthetic-tabular", "--out", str(tmp_path / "p")]
    assert cli.main([*paper, "--objective", "paper", "--residualize", "salient"]) == 1
    assert "objective='paper'" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()  # a refused run leaves no folder behind


def test_datasets_lists_every_dataset(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(locations, "DEBIAN_DATA", tmp_path / "none")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SEPCLR_DATA", raising=False)
    assert cli.main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "digits-on-fashion" in out and "synthetic-tabular" in out
    assert "missing" in out and "apt-get install dataset-fashion-mnist" in out


def test_errors_are_one_line_and_nonzero(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(locations, "DEBIAN_DATA", tmp_path / "none")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SEPCLR_DATA", raising=False)
    argv = ["fit", "--dataset", "digits-on-fashion", "--out", str(tmp_path / "x")]
    code = cli.main([*argv, "--no-download"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("sepclr: error: fashion-mnist files")
    assert len(err.strip().splitlines()) == 1
    assert cli.main(["evaluate", str(tmp_path / "missing")]) == 1
    assert "written by `sepclr fit`" in capsys.readouterr().err


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert all(word in out for word in ("fit", "evaluate", "datasets"))


BENCH = ["bench", "--dataset", "synthetic-tabular", "--ablation", "independence"]


def test_bench_independence_writes_tables_and_resumes(tmp_path, capsys):
    out = tmp_path / "ablation"
    argv = [
        *BENCH,
        "--seeds",
        "2",
        "--out",
        str(out),
        "--only",
        "k-jem,none,tc",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--device",
        "cpu",
    ]
    assert cli.main(argv) == 0
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == [
        f"{v}-seed{k}.json" for v in ("k-jem", "none", "tc", "untrained") for k in (0, 1)
    ]
    table = json.loads((out / "independence.json").read_text())
    assert set(table["rows"]) == {"k-jem", "none", "tc", "untrained"}
    header = (out / "independence.csv").read_text().splitlines()[0]
    assert header.startswith("variant,S_salient")
    assert "| SepCLR-k-jem |" in (out / "independence.md").read_text()
    # A rerun reuses every finished run instead of training again.
    stamps = {p: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    capsys.readouterr()
    assert cli.main(argv) == 0
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == stamps
    assert "seed" not in capsys.readouterr().out.split("Mean")[0]
    # A run file that records a parameter the library no longer has is reused when that
    # parameter was off, and refused when it was on.
    path = out / "runs" / "none-seed0.json"
    run = json.loads(path.read_text())
    path.write_text(json.dumps({**run, "params": {**run["params"], "retired_weight": 0.0}}))
    assert cli.main(argv) == 0
    assert json.loads(path.read_text())["params"]["retired_weight"] == 0.0  # not trained again
    path.write_text(json.dumps({**run, "params": {**run["params"], "retired_weight": 5.0}}))
    capsys.readouterr()
    assert cli.main(argv) == 1
    assert "other settings" in capsys.readouterr().err


def test_bench_rejects_unknown_variant(tmp_path, capsys):
    argv = [
        *BENCH,
        "--out",
        str(tmp_path),
        "--only",
        "k-jme",
    ]
    assert cli.main(argv) == 1
    assert "unknown variant" in capsys.readouterr().err


def test_bench_methods_runs_baselines_beside_sepclr(tmp_path, capsys):
    out = tmp_path / "methods"
    argv = ["bench", "--dataset", "synthetic-tabular", "--methods", "cpca,cvae,sepclr"]
    argv += ["--seeds", "1", "--out", str(out), "--common-dim", "4", "--salient-dim", "4"]
    argv += ["--epochs", "1", "--device", "cpu"]
    assert cli.main(argv) == 0
    table = json.loads((out / "methods.json").read_text())
    assert list(table["rows"]) == ["cpca", "cvae", "k-jem", "untrained"]
    text = (out / "methods.md").read_text()
    assert all(f"| {label} |" in text for label in ("cPCA", "CVAE", "SepCLR-k-jem"))
    run = json.loads((out / "runs" / "cvae-seed0.json").read_text())
    assert run["method"] == "CVAE" and run["params"]["epochs"] == 1
    assert run["params"]["common_dim"] == 4 and run["params"]["batch_size"] == 512
    # The same directory with other settings is refused, not mixed into one table.
    capsys.readouterr()
    assert cli.main([*argv[:-4], "--epochs", "2", "--device", "cpu"]) == 1
    assert "other settings" in capsys.readouterr().err


def test_bench_methods_rejects_unknown_method(tmp_path, capsys):
    argv = ["bench", "--dataset", "synthetic-tabular", "--methods", "cpca,sepvea"]
    assert cli.main([*argv, "--out", str(tmp_path)]) == 1
    assert "unknown method 'sepvea'" in capsys.readouterr().err


def test_fit_writes_checkpoints_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["fit", "--dataset", "synthetic-tabular", "--out", str(out), "--quiet"]
    argv += ["--epochs", "2", "--batch-size", "64", "--device", "cpu", "--no-evaluate"]
    assert cli.main(["fit", "--resume", str(out)]) == 1
    assert "run.json is missing" in capsys.readouterr().err
    assert cli.main(argv) == 0
    assert (out / "checkpoint" / "checkpoint.safetensors").is_file()
    assert json.loads((out / "run.json").read_text())["params"]["epochs"] == 2
    target = sepclr.datasets.load("synthetic-tabular").target
    first = sepclr.load(out).transform(target)
    # A finished run resumes to the same model, with the settings of its run.json.
    assert cli.main(["fit", "--resume", str(out), "--quiet", "--no-evaluate"]) == 0
    for before, after in zip(first, sepclr.load(out).transform(target), strict=True):
        np.testing.assert_array_equal(before, after)
    capsys.readouterr()
    assert cli.main(["fit", "--resume", str(out), "--epochs", "3"]) == 1
    assert "leave out --epochs" in capsys.readouterr().err
    (out / "checkpoint" / "checkpoint.safetensors").unlink()
    assert cli.main(["fit", "--resume", str(out)]) == 1
    assert "no checkpoint yet" in capsys.readouterr().err
    cpca = ["fit", "--dataset", "synthetic-tabular", "--out", str(tmp_path / "c"), "--method"]
    assert cli.main([*cpca, "cpca", "--common-dim", "4", "--salient-dim", "4"]) == 0
    capsys.readouterr()
    assert cli.main(["fit", "--resume", str(tmp_path / "c")]) == 1
    assert "CPCA is fitted in one step" in capsys.readouterr().err
    assert cli.main(["fit", "--out", str(tmp_path / "d")]) == 1
    assert "needs --dataset (or --preset) and --out" in capsys.readouterr().err


def test_fit_on_two_processes_with_devices(tmp_path, capfd):
    """`--devices 2` runs the same command on 2 gloo processes (torch.distributed.run on
    loopback); the first process writes the model, the checkpoint and the results, and
    nothing reaches stderr (no torchrun banner, no library warning)."""
    out = tmp_path / "run"
    argv = ["fit", "--dataset", "synthetic-tabular", "--out", str(out), "--epochs", "2"]
    argv += ["--batch-size", "64", "--quiet", "--device", "cpu", "--devices", "2"]
    assert cli.main(argv) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["processes"] == 2
    assert (out / "checkpoint" / "checkpoint.safetensors").is_file()
    model = sepclr.load(out)
    assert len(model.history_) == 2
    assert "SepCLR (synthetic-tabular)" in json.loads((out / "results.json").read_text())["rows"]
    assert capfd.readouterr().err == ""


def test_devices_refuses_a_method_without_multi_process_training(tmp_path, capsys):
    argv = ["fit", "--dataset", "synthetic-tabular", "--out", str(tmp_path / "x")]
    argv += ["--method", "cpca", "--quiet", "--devices", "2"]
    assert cli.main(argv) == 1
    assert "CPCA trains in one process" in capsys.readouterr().err


def test_a_size_for_a_dataset_without_sizes_is_refused_with_a_preset_too(tmp_path, capsys):
    argv = ["fit", "--preset", "cifar-mnist", "--size", "small", "--out", str(tmp_path / "r")]
    assert cli.main([*argv, "--no-download"]) == 1
    assert "--size applies to" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
