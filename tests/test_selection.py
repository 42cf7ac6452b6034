"""Label-free selection: folds, the ranking, the chosen model and ``sepclr select``."""

import json

import numpy as np
import pandas as pd
import pytest

import sepclr
from sepclr import cli
from sepclr.errors import InvalidInputError
from sepclr.recipes import Recipe
from sepclr.selection import (
    CANDIDATES,
    criterion,
    fold_of_rows,
    ranking_table,
    select,
)


def test_folds_are_even_and_keep_subjects_whole() -> None:
    rng = np.random.default_rng(0)
    folds = fold_of_rows(10, 3, rng)
    assert sorted(np.bincount(folds).tolist()) == [3, 3, 4]
    held_out = fold_of_rows(10, 1, rng)
    assert (held_out == 0).sum() == 2 and (held_out == -1).sum() == 8
    subjects = np.repeat(np.array(["a", "b", "c", "d", "e", "f"]), 4)
    folds = fold_of_rows(len(subjects), 3, rng, subjects)
    for subject in np.unique(subjects):
        assert len(set(folds[subjects == subject].tolist())) == 1
    assert sorted(np.bincount(folds).tolist()) == [8, 8, 8]


def test_candidates_are_named_once_and_differ() -> None:
    names = [c.name for c in CANDIDATES]
    assert len(names) == len(set(names)) >= 12
    settings = [json.dumps(c.params, sort_keys=True) for c in CANDIDATES]
    assert len(settings) == len(set(settings))
    for candidate in CANDIDATES:
        sepclr.SepCLR(**candidate.params).validate_params()


@pytest.mark.slow
def test_select_prefers_a_trained_model_to_an_untrained_one() -> None:
    data = sepclr.datasets.load("synthetic-tabular", n=150)
    trained = Recipe("trained", {"objective": "paper", "epochs": 15}, "")
    untrained = Recipe("untrained", {"objective": "paper", "epochs": 0}, "")
    columns = [f"x{k}" for k in range(data.background.shape[1])]
    background = pd.DataFrame(data.background, columns=columns)
    target = pd.DataFrame(data.target, columns=columns)
    found = select(background, target, [untrained, trained], params={"device": "cpu"}, folds=3)
    assert found.chosen == "trained" and found.folds == 3
    first, second = found.ranking
    assert first["criterion"] > second["criterion"] + 0.1  # -0.67 against -0.87 when written
    assert first["criterion"] == pytest.approx(criterion(first))
    # the chosen model is refitted on every row: its standardiser saw all of them
    rows = np.concatenate([data.background, data.target])
    mean = found.model.standardiser_.mean.numpy()
    np.testing.assert_allclose(mean, rows.mean(axis=0), rtol=1e-4, atol=1e-5)
    assert found.model.epochs == 15 and len(found.model.history_) == 15
    assert list(found.model.feature_names_in_) == columns  # refitted on the DataFrames


def test_select_refuses_what_it_cannot_do() -> None:
    data = sepclr.datasets.load("synthetic-tabular", n=30)
    with pytest.raises(InvalidInputError, match="unknown candidate"):
        select(data.background, data.target, ["paper", "nonsense"])
    with pytest.raises(InvalidInputError, match="two different"):
        select(data.background, data.target, ["paper", "paper"])
    with pytest.raises(InvalidInputError, match="folds"):
        select(data.background, data.target, ["paper", "paper-8"], folds=0)
    with pytest.raises(InvalidInputError, match="rows in each group"):
        select(data.background[:8], data.target, ["paper", "paper-8"])
    with pytest.raises(InvalidInputError, match="one subject per row"):
        select(data.background, data.target, ["paper", "paper-8"], subjects=(["a"], ["b"]))
    two = (np.repeat(["a", "b"], 15), np.repeat(["c", "d", "e"], 10))
    with pytest.raises(InvalidInputError, match="too few subjects for 3 fold"):
        select(data.background, data.target, ["paper", "paper-8"], folds=3, subjects=two)


def test_sepclr_select_writes_the_ranking_and_a_run_that_evaluates(tmp_path, capsys) -> None:
    out = tmp_path / "chosen"
    argv = [
        "select",
        "--dataset",
        "synthetic-tabular",
        "--dataset-option",
        "n=60",
        "--out",
        str(out),
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--candidates",
        "paper,paper-8",
        "--quiet",
    ]
    assert cli.main(argv) == 0
    ranking = json.loads((out / "selection.json").read_text())
    scores = [r["criterion"] for r in ranking["ranking"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 2
    assert ranking["chosen"] == ranking["ranking"][0]["name"]
    run = json.loads((out / "run.json").read_text())
    chosen = next(c for c in CANDIDATES if c.name == ranking["chosen"])
    assert run["params"] == {"epochs": 2, "device": "cpu", **chosen.params}
    assert "| 1 | " + ranking["chosen"] in (out / "selection.md").read_text()
    results = json.loads((out / "results.json").read_text())
    assert set(results["diagnostics"]) >= {"salient_auc", "r2_salient_from_common"}
    model = sepclr.load(out)
    assert model.salient_dim == sepclr.SepCLR(**chosen.params).salient_dim
    assert cli.main(["evaluate", str(out)]) == 0
    assert cli.main(argv) == 1
    assert "already holds a run" in capsys.readouterr().err


def test_screening_scores_only_the_best_of_the_first_fold_on_the_other_folds(monkeypatch):
    """With screen=1 of 3 candidates and 3 folds: 3 + 2 trainings and the refit, the
    finalist's row equal to its row in a full cross-validation, the others scored on the
    first fold and ranked below it by that score."""
    import sepclr.selection as selection

    data = sepclr.datasets.load("synthetic-tabular", n=60)
    fits = []

    class Counted(selection.SepCLR):
        def fit(self, *args, **kwargs):
            fits.append(1)
            return super().fit(*args, **kwargs)

    monkeypatch.setattr(selection, "SepCLR", Counted)
    names, params = ["paper", "paper-8", "salient-4"], {"epochs": 2, "device": "cpu"}
    screened = select(data.background, data.target, names, params, folds=3, screen=1)
    assert len(fits) == 3 + 2 + 1
    fits.clear()
    full = select(data.background, data.target, names, params, folds=3, screen=None)
    assert len(fits) == 3 * 3 + 1
    finalist, *others = screened.ranking
    assert finalist["folds"] == 3 and [row["folds"] for row in others] == [1, 1]
    full_row = next(row for row in full.ranking if row["name"] == finalist["name"])
    for key in ("criterion", *selection.RANKING_COLUMNS):
        assert finalist[key] == pytest.approx(full_row[key], abs=1e-12)
    assert others[0]["criterion"] >= others[1]["criterion"]
    assert "| 3 | " in ranking_table(screened)  # the folds column
    with pytest.raises(InvalidInputError, match="screen must be a whole number"):
        select(data.background, data.target, names, params, screen=0)


def test_sepclr_select_shows_a_bar_over_the_trainings(tmp_path, capsys) -> None:
    argv = ["select", "--dataset", "synthetic-tabular", "--dataset-option", "n=60"]
    argv += ["--out", str(tmp_path / "s"), "--epochs", "1", "--candidates", "paper,paper-8"]
    argv += ["--screen", "1", "--no-evaluate"]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert "select: 100%" in captured.err and "5/5" in captured.err  # 2 + 1 * 2 + refit
    assert "paper-8: criterion" in captured.out and "over 3 folds" in captured.out
