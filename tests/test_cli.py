import json

import pytest

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
    code = cli.main(["fit", "--dataset", "digits-on-fashion", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("sepclr: error: fashion-mnist files")
    assert len(err.strip().splitlines()) == 1
    assert cli.main(["evaluate", str(tmp_path / "missing")]) == 1
    assert "not a saved sepclr model" in capsys.readouterr().err


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert all(word in out for word in ("fit", "evaluate", "datasets"))
