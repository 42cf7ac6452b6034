"""Embeddings out: `sepclr transform` writes, in each format, the values of
`model.transform`; DataFrames go in with their column names."""

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sepclr
from sepclr import cli
from sepclr.data.cells import CellPreparation
from sepclr.errors import InvalidInputError
from sepclr.export import COMMON_KEY, SALIENT_KEY, SCORE_KEY, transform_anndata

FAST = ["--method", "cvae", "--epochs", "1", "--batch-size", "16", "--quiet", "--no-evaluate"]


def _table(path: Path, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=["x1", "x2", "x3", "x4"])
    frame.insert(0, "participant_id", [f"p{i:03d}" for i in range(n)])
    frame["group"] = ["control", "treated"] * (n // 2)
    frame.loc[frame.group == "treated", "x1"] += 2
    frame.to_csv(path, index=False)
    return frame


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("table")
    frame = _table(folder / "data.csv")
    options = ["--dataset-option", "table=data.csv", "--dataset-option", "features=x1,x2,x3,x4"]
    argv = ["fit", "--dataset", "table-study", *options, "--data-dir", str(folder)]
    assert cli.main([*argv, *FAST, "--out", str(folder / "run")]) == 0
    return folder, frame


def _codes(run: Path, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return sepclr.load(run).transform(x)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npz"])
def test_a_table_round_trips_in_each_format(table_run, suffix, tmp_path):
    folder, frame = table_run
    out = tmp_path / f"codes{suffix}"
    argv = ["transform", str(folder / "run"), "--input", str(folder / "data.csv")]
    assert cli.main([*argv, "--out", str(out)]) == 0
    common, salient = _codes(folder / "run", frame[["x1", "x2", "x3", "x4"]].to_numpy())
    score = np.sqrt((salient.astype(np.float64) ** 2).sum(axis=1))  # distance to s' = 0
    if suffix == ".npz":
        saved = np.load(out)
        np.testing.assert_array_equal(saved["common"], common)
        np.testing.assert_array_equal(saved["salient"], salient)
        np.testing.assert_allclose(saved["salient_score"], score, rtol=1e-6)
        return
    read = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    assert list(read.columns[:2]) == ["participant_id", "common_0"]
    assert list(read.participant_id) == list(frame.participant_id)
    got = read[[c for c in read.columns if c.startswith("common_")]].to_numpy(np.float32)
    np.testing.assert_array_equal(got, common)
    codes = [c for c in read.columns if c.startswith("salient_") and c != "salient_score"]
    np.testing.assert_array_equal(read[codes].to_numpy(np.float32), salient)
    assert read.columns[-1] == "salient_score"
    np.testing.assert_allclose(read["salient_score"].to_numpy(), score, rtol=1e-6)


def test_a_npy_input_and_bad_formats(table_run, tmp_path, capsys):
    folder, frame = table_run
    x = frame[["x1", "x2", "x3", "x4"]].to_numpy(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "codes.csv"
    run = str(folder / "run")
    assert cli.main(["transform", run, "--input", str(tmp_path / "x.npy"), "--out", str(out)]) == 0
    with open(out) as handle:
        header = next(csv.reader(handle))
    assert header[0] == "common_0"
    assert cli.main(["transform", run, "--input", str(tmp_path / "x.npy"), "--out", "c.txt"]) == 1
    assert ".csv, .parquet, .npz, .h5ad" in capsys.readouterr().err
    assert cli.main(["transform", run, "--input", str(tmp_path / "x.npy"), "--out", "c.h5ad"]) == 1
    assert "needs an .h5ad input" in capsys.readouterr().err


def test_anndata_gets_its_codes_in_obsm(tmp_path):
    anndata = pytest.importorskip("anndata")
    rng = np.random.default_rng(0)
    counts = rng.poisson(3.0, size=(80, 12)).astype(np.float32)
    counts[40:, :3] += 6
    obs = pd.DataFrame({"condition": ["control"] * 40 + ["treated"] * 40})
    obs.index = [f"cell{i}" for i in range(80)]
    anndata.AnnData(counts, obs=obs).write_h5ad(tmp_path / "data.h5ad")
    argv = ["fit", "--dataset", "anndata-study", "--data-dir", str(tmp_path), *FAST]
    assert cli.main([*argv, "--out", str(tmp_path / "run")]) == 0
    out = tmp_path / "with-codes.h5ad"
    argv = ["transform", str(tmp_path / "run"), "--input", str(tmp_path / "data.h5ad")]
    assert cli.main([*argv, "--out", str(out)]) == 0
    written = anndata.read_h5ad(out)
    model = sepclr.load(tmp_path / "run")
    prepared = json.loads((tmp_path / "run" / "run.json").read_text())["cell_preparation"]
    assert prepared["input"] == "counts" and len(prepared["selected"]) == 12
    assert CellPreparation.from_json(prepared) == model.preparation_
    expected = transform_anndata(model, anndata.read_h5ad(tmp_path / "data.h5ad"))
    for key in (COMMON_KEY, SALIENT_KEY):
        np.testing.assert_array_equal(written.obsm[key], expected.obsm[key])
    score = np.linalg.norm(written.obsm[SALIENT_KEY].astype(np.float64), axis=1)
    np.testing.assert_allclose(written.obs[SCORE_KEY].to_numpy(), score, rtol=1e-6)
    assert list(written.obs_names) == list(obs.index)


def test_dataframes_fit_with_their_column_names(tmp_path):
    rng = np.random.default_rng(0)
    columns = ["a", "b", "c", "d"]
    background = pd.DataFrame(rng.normal(size=(40, 4)), columns=columns)
    target = pd.DataFrame(rng.normal(size=(40, 4)) + 1, columns=columns)
    model = sepclr.CPCA(2, 2)
    common, _ = model.fit_transform(background, target)
    assert common.shape == (80, 2) and list(model.feature_names_in_) == columns
    np.testing.assert_array_equal(common[40:], model.transform(target)[0])
    with pytest.raises(InvalidInputError, match="another order; select them in the fitted"):
        model.transform(target[["b", "a", "c", "d"]])
    with pytest.raises(InvalidInputError, match="it lacks 'c'"):
        model.transform(target[["a", "b", "d"]])
    with pytest.raises(InvalidInputError, match="it has 'e', which"):
        model.transform(target.assign(e=1.0))
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["fitted"]["feature_names"]
    assert list(sepclr.load(tmp_path / "m").feature_names_in_) == columns
    lists = sepclr.CPCA(2, 2).fit(background.values.tolist(), target.values.tolist())
    np.testing.assert_allclose(lists.transform(target)[1], model.transform(target)[1], rtol=1e-5)


def test_a_fit_writes_its_training_log(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["fit", "--dataset", "synthetic-tabular", "--dataset-option", "n=40", *FAST[:6]]
    assert cli.main([*argv, "--quiet", "--plot", "--tensorboard", "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    model = sepclr.load(out)
    assert len(rows) == 1 and {"epoch", "loss", "kl", "seconds", "lr"} <= set(rows[0])
    assert float(rows[0]["loss"]) == pytest.approx(model.history_[0]["loss"])
    assert float(rows[0]["lr"]) == pytest.approx(1e-3)
    assert (out / "training.png").stat().st_size > 0
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))


def test_tensorboard_missing_is_one_line_before_training(tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    out = tmp_path / "run"
    argv = ["fit", "--dataset", "synthetic-tabular", *FAST, "--tensorboard", "--out", str(out)]
    assert cli.main(argv) == 1
    assert "pip install 'sepclr[tensorboard]'" in capsys.readouterr().err
    assert not out.exists()


def test_text_labels_keep_their_names(tmp_path, capsys):
    frame = _table(tmp_path / "data.csv")
    frame["site"] = ["paris", "lyon", "nice"] * 20
    frame.to_csv(tmp_path / "data.csv", index=False)
    options = ["--dataset-option", "features=x1,x2,x3,x4", "--dataset-option", "factors=site"]
    argv = ["fit", "--dataset", "table-study", *options, "--data-dir", str(tmp_path)]
    assert cli.main([*argv, *FAST[:6], "--quiet", "--out", str(tmp_path / "run")]) == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["labels"] == {"site": ["lyon", "nice", "paris"]}
    assert "site: 0 lyon, 1 nice, 2 paris" in (tmp_path / "run" / "results.md").read_text()
    features = "x1,x2,x3,x4"
    data = sepclr.datasets.load("table-study", root=tmp_path, factors="site", features=features)
    assert data.label_of("site", 2) == "paris" and data.label_of("site", 7) == "7"
