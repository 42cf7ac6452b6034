"""The Run layer: ``sepclr.run`` does what the commands do, from Python."""

import json

import numpy as np
import pytest

import sepclr
from sepclr import cli, run
from sepclr.errors import SepCLRError

OPTIONS = {"n": 40}
PARAMS = {"epochs": 2, "batch_size": 16, "common_dim": 3, "salient_dim": 2, "device": "cpu"}


def test_fit_evaluate_and_transform_equal_the_commands(tmp_path, capsys):
    settings = run.settings("synthetic-tabular", params=PARAMS, dataset_options=OPTIONS)
    model = run.fit(settings, tmp_path / "python", run.Options(verbose=False))
    argv = ["fit", "--dataset", "synthetic-tabular", "--dataset-option", "n=40", "--quiet"]
    argv += [f"--set={k}={json.dumps(v)}" for k, v in PARAMS.items()]
    assert cli.main([*argv, "--out", str(tmp_path / "command")]) == 0
    for name in ("weights.safetensors", "results.md"):
        assert (tmp_path / "python" / name).read_bytes() == (
            tmp_path / "command" / name
        ).read_bytes()
    stored = [json.loads((tmp_path / d / "run.json").read_text()) for d in ("python", "command")]
    assert {k: v for k, v in stored[0].items() if k != "fit_seconds"} == {
        k: v for k, v in stored[1].items() if k != "fit_seconds"
    }

    document = run.evaluate(tmp_path / "python")
    assert set(document["diagnostics"]) >= {"salient_auc", "background_ratio"}
    samples = tmp_path / "samples.npy"
    data = sepclr.datasets.load("synthetic-tabular", split="test", **OPTIONS)
    np.save(samples, data.target)
    written = run.transform(tmp_path / "python", samples, tmp_path / "codes.npz")
    codes = np.load(written)
    np.testing.assert_array_equal(codes["salient"], model.transform(data.target)[1])
    capsys.readouterr()


def test_settings_are_checked_before_anything_is_written(tmp_path):
    with pytest.raises(SepCLRError, match="has no parameter nonsense"):
        run.settings("synthetic-tabular", params={"nonsense": 1})
    with pytest.raises(SepCLRError, match="unknown method"):
        run.settings("synthetic-tabular", method="pca")
    with pytest.raises(SepCLRError, match="needs a dataset"):
        run.settings()
    settings = run.settings("synthetic-tabular", params={"objective": "nonsense"})
    with pytest.raises(SepCLRError, match="objective"):
        run.fit(settings, tmp_path / "out", run.Options(verbose=False))
    assert not (tmp_path / "out").exists()
