"""A newcomer's habits: group columns of numbers, and whatever else the first hour brings."""

import numpy as np
import pandas as pd
import pytest

from sepclr.data.ca_dataset import in_group
from sepclr.data.tables import table_study


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ([0, 1, 1, 0], 0, [True, False, False, True]),
        ([0, 1, 1, 0], "1", [False, True, True, False]),
        ([0.0, 1.0, 2.5], 1, [False, True, False]),
        (["0", "1", "x"], 0, [True, False, False]),
        (["a", "b"], "b", [False, True]),
        ([0, 1], "control", [False, False]),
        ([True, False], True, [True, False]),
    ],
)
def test_group_values_are_compared_as_the_column_holds_them(column, value, expected):
    assert in_group(np.asarray(column), value).tolist() == expected


@pytest.mark.parametrize("values", [(0, 1), ("0", "1")])
def test_a_table_with_a_0_1_group_column_splits_into_its_groups(tmp_path, values):
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    table["group"] = np.repeat([0, 1], 20)
    table.to_csv(tmp_path / "data.csv", index=False)
    data = table_study(root=tmp_path, background_value=values[0], target_value=values[1])
    assert len(data.background) + len(data.target) == 32  # 20 % held out
    assert data.feature_names == ["a", "b", "c"]


def test_cpca_fits_a_small_table_with_its_defaults_and_keeps_a_given_size(tmp_path):
    import sepclr
    from sepclr.errors import InvalidInputError

    rng = np.random.default_rng(0)
    background, target = rng.normal(size=(60, 13)), rng.normal(size=(50, 13))
    model = sepclr.CPCA().fit(background, target)
    common, salient = model.transform(target)
    assert common.shape == (50, 13) and salient.shape == (50, 13)
    model.save(tmp_path / "m")
    assert sepclr.load(tmp_path / "m").transform(target)[1].shape == (50, 13)
    assert sepclr.CPCA(salient_dim=4).fit(background, target).transform(target)[1].shape[1] == 4
    with pytest.raises(InvalidInputError, match=r"salient_dim=32 is larger than .* \(13\)"):
        sepclr.CPCA(salient_dim=32).fit(background, target)


def test_a_table_run_says_which_factors_are_common_and_how_to_name_a_salient_one(tmp_path):
    from sepclr import cli

    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(80, 4)), columns=["a", "b", "c", "d"])
    table["group"] = np.repeat(["control", "treated"], 40)
    table["kind"] = np.tile(["x", "y"], 40)
    table.to_csv(tmp_path / "data.csv", index=False)
    argv = ["fit", "--dataset", "table-study", "--data-dir", str(tmp_path), "--method", "cpca"]
    argv += ["--dataset-option", "factors=kind", "--quiet", "--out", str(tmp_path / "run")]
    assert cli.main(argv) == 0
    text = (tmp_path / "run" / "results.md").read_text()
    assert "Factors: kind (common). A factor is scored as common unless" in text
    assert "--dataset-option salient=NAME" in text


def test_transform_as_frame_names_the_codes_and_keeps_the_index():
    import sepclr
    from sepclr.export import code_columns

    rng = np.random.default_rng(0)
    rows = pd.DataFrame(rng.normal(size=(30, 5)), columns=list("abcde"))
    rows.index = [f"s{i}" for i in range(30)]
    model = sepclr.CPCA(common_dim=2, salient_dim=3).fit(rows.iloc[:15], rows.iloc[15:])
    frame = model.transform(rows, as_frame=True)
    common, salient = model.transform(rows)
    assert list(frame.index) == list(rows.index)
    assert list(frame.columns) == list(code_columns(common, salient))
    np.testing.assert_array_equal(frame[["salient_0", "salient_1", "salient_2"]], salient)
    unnamed = sepclr.CPCA(common_dim=2, salient_dim=3).fit(
        rows.to_numpy()[:15], rows.to_numpy()[15:]
    )
    assert list(unnamed.transform(rows.to_numpy(), as_frame=True).index) == list(range(30))


def test_a_contrastive_method_in_a_pipeline_with_fit_x_y():
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    import sepclr
    from sepclr.errors import InvalidInputError

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 5)), np.repeat([0, 1], 30)
    X[y == 1, 0] += 3.0
    step = sepclr.ContrastiveTransformer(sepclr.CPCA(common_dim=2, salient_dim=2))
    pipeline = make_pipeline(step, LogisticRegression()).fit(X, y)
    assert pipeline.score(X, y) > 0.9
    fitted = pipeline[0]
    direct = sepclr.CPCA(common_dim=2, salient_dim=2).fit(X[y == 0], X[y == 1])
    np.testing.assert_array_equal(fitted.transform(X), np.hstack(direct.transform(X)))
    assert list(fitted.get_feature_names_out()) == [
        "common_0",
        "common_1",
        "salient_0",
        "salient_1",
    ]
    assert not hasattr(clone(pipeline)[0], "method_")
    with pytest.raises(InvalidInputError, match=r"use sepclr.ContrastiveTransformer"):
        sepclr.CPCA().fit(X, y)
    with pytest.raises(InvalidInputError, match="both background"):
        step.fit(X, np.ones(60))
    with pytest.raises(InvalidInputError, match="hold 0"):
        step.fit(X, np.arange(60))


def _table(path, rows_per_group: int) -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(2 * rows_per_group, 3)), columns=["a", "b", "c"])
    table["group"] = np.repeat(["control", "treated"], rows_per_group)
    table.to_csv(path / "data.csv", index=False)


@pytest.mark.parametrize(
    ("rows", "extra", "message"),
    [
        (3, [], "train split holds 2 background row"),
        (40, ["--dataset-option", "test_fraction=0.9"], "train split holds 4 background row"),
        (40, ["--epochs", "0"], "epochs=0 trains nothing"),
    ],
)
def test_runs_too_small_to_train_are_refused_in_one_line(tmp_path, capsys, rows, extra, message):
    from sepclr import cli

    _table(tmp_path, rows)
    argv = ["fit", "--dataset", "table-study", "--data-dir", str(tmp_path), "--quiet"]
    assert cli.main([*argv, *extra, "--out", str(tmp_path / "run")]) == 1
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1


def test_a_model_no_better_than_its_untrained_floor_is_reported(tmp_path, capsys):
    from sepclr import cli

    _table(tmp_path, 40)  # the groups do not differ: nothing to learn
    argv = ["fit", "--dataset", "table-study", "--data-dir", str(tmp_path), "--quiet"]
    argv += ["--epochs", "2", "--out", str(tmp_path / "run")]
    assert cli.main(argv) == 0
    error = capsys.readouterr().err
    assert "sepclr: warning: the trained model's salient score tells targets from " in error
    assert "no better than the untrained encoder's" in error


@pytest.mark.parametrize(("missing", "rows"), [("drop", 30), ("mean", 32)])
def test_missing_cells_can_be_dropped_or_filled_and_are_named_otherwise(tmp_path, missing, rows):
    from sepclr.errors import InvalidInputError

    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    table["group"] = np.repeat(["control", "treated"], 20)
    table.loc[[3, 25], "b"] = np.nan
    table.to_csv(tmp_path / "data.csv", index=False)
    with pytest.raises(
        InvalidInputError, match=r"column 'b', line 5: an empty cell; .*missing=drop"
    ):
        table_study(root=tmp_path)
    data = table_study(root=tmp_path, missing=missing)
    assert len(data.background) + len(data.target) == rows
    assert np.isfinite(data.background).all() and np.isfinite(data.target).all()
    if missing == "mean":
        known = table["b"].dropna().mean()
        everything = np.concatenate([data.background, data.target])
        assert np.isclose(everything[:, 1], known, atol=1e-6).sum() >= 1
    with pytest.raises(InvalidInputError, match="missing must be one of"):
        table_study(root=tmp_path, missing="zero")


def test_the_training_bar_shows_the_total_loss_and_time_left_only(capsys):
    import sepclr

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    model = sepclr.SepCLR(epochs=2, batch_size=16, device="cpu").fit(x[:20], x[20:])
    bar = capsys.readouterr().err.splitlines()[-1]
    assert "loss=" in bar and "<00:00" in bar and "infoless" not in bar
    assert {"loss", "infoless", "independence"} <= set(model.history_[-1])


def test_the_size_help_states_each_datasets_own_default(capsys):
    from sepclr import cli
    from sepclr.data.catalog import dataset_options
    from sepclr.registry import DATASETS

    with pytest.raises(SystemExit):
        cli.main(["fit", "--help"])
    text = "".join(capsys.readouterr().out.split())  # help wraps lines, even at hyphens
    sized = [name for name, info in DATASETS.items() if info.sizes]
    assert sized
    for name in sized:
        default = next(d for option, d, _ in dataset_options(name) if option == "size")
        line = f"{name} takes {', '.join(DATASETS[name].sizes)} ({default!r} when left out)"
        assert "".join(line.split()) in text


def test_a_stopped_command_line_run_names_its_epoch_as_the_bar_does_and_the_cli_resume(
    tmp_path, capsys, monkeypatch
):
    """SIGTERM during the second epoch: the message counts the one complete epoch the bar
    resumes from, and says how to continue on the command line, not in Python."""
    import signal

    from sepclr import cli
    from sepclr.engine import loop

    calls, split = [], loop.split_batches

    def split_then_signal(order, batch_size):
        calls.append(1)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGTERM)
        return split(order, batch_size)

    monkeypatch.setattr(loop, "split_batches", split_then_signal)
    out = tmp_path / "run"
    argv = ["fit", "--dataset", "synthetic-tabular", "--dataset-option", "n=96"]
    argv += ["--epochs", "3", "--batch-size", "32", "--out", str(out)]
    assert cli.main(argv) == 130
    error = capsys.readouterr().err
    assert "at step 1 of epoch 2 of 3 (1 epochs complete)" in error
    assert f"`sepclr fit --resume {out}` continues from it" in error
    assert "resume=True" not in error
    monkeypatch.setattr(loop, "split_batches", split)
    assert cli.main(["fit", "--resume", str(out), "--no-evaluate"]) == 0
    assert " 1/3 " in capsys.readouterr().err  # the bar starts where the message said


def test_input_without_column_names_after_a_dataframe_fit_is_refused(tmp_path):
    import sepclr
    from sepclr.errors import InvalidInputError

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 4)), columns=["a", "b", "c", "d"])
    model = sepclr.CPCA().fit(frame[:20], frame[20:])
    with pytest.raises(InvalidInputError, match="x has no column names, but this model was fit"):
        model.transform(frame.to_numpy())
    common, _ = model.transform(frame[["a", "b", "c", "d"]])
    assert common.shape[0] == 40
    model.save(tmp_path / "m")
    with pytest.raises(InvalidInputError, match="x has no column names"):
        sepclr.load(tmp_path / "m").transform(frame.to_numpy())
    arrays = sepclr.CPCA().fit(frame.to_numpy()[:20], frame.to_numpy()[20:])
    assert arrays.transform(frame.to_numpy())[0].shape[0] == 40
