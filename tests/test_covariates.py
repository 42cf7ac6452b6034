"""Covariates: known nuisance factors named at fit. Their checks (one line per bad input),
their encoding, the dependence term and the leak diagnostics against plain computations,
what each method does with them, and the command line."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score
from sklearn.preprocessing import StandardScaler

import sepclr
from sepclr import cli
from sepclr.errors import InvalidInputError
from sepclr.evaluation.leaks import covariate_leaks
from sepclr.evaluation.probes import probe_balanced_accuracy
from sepclr.methods.covariates import CATEGORICAL, CONTINUOUS, Covariates, fit_covariates
from sepclr.methods.cpca import covariate_effect
from sepclr.objectives.covariates import linear_erasure
from sepclr.registry import METHODS

FAST = {"epochs": 1, "batch_size": 16, "verbose": False, "device": "cpu"}
RNG = np.random.default_rng(0)
SITES = np.array(["a", "b", "c"])


def _covariates(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "site": SITES[np.arange(n) % 3],
            "age": rng.uniform(20, 80, n),
            "male": rng.random(n) > 0.5,
        }
    )


# --- bad input: one line each -------------------------------------------------------------


def _bad(kind: str) -> tuple[object, object]:
    background, target = _covariates(30, 0), _covariates(30, 1)
    if kind == "NaN":
        target.loc[4, "age"] = np.nan
    elif kind == "empty category":
        background["site"] = background["site"].astype(object)
        background.loc[2, "site"] = None
    elif kind == "one group's column":
        target = target.assign(scanner="x")
    elif kind == "one group only":
        target = None
    elif kind == "category in one group":
        target.loc[0, "site"] = "d"
    elif kind == "single value":
        background["site"], target["site"] = "a", "a"
    elif kind == "too many categories":
        background["site"] = [f"s{i % 10}" for i in range(30)]
        target["site"] = [f"s{i % 10}" for i in range(30)]
    elif kind == "rows":
        target = target.iloc[:29]
    elif kind == "not a table":
        target = [1, 2, 3]
    return background, target


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("NaN", "'age' is missing \\(empty or NaN\\) in 1 target row\\(s\\), e.g. row 4"),
        ("empty category", "'site' is missing \\(empty or NaN\\) in 1 background row"),
        ("one group's column", "'scanner' is given for the target group only"),
        ("one group only", "give background_covariates and target_covariates together"),
        ("category in one group", "'site' takes 'd' in the target group only"),
        ("single value", "'site' takes one value \\('a'\\) in every row"),
        ("too many categories", "'site' has 10 categories for 60 rows \\(more than a tenth\\)"),
        ("rows", "target_covariates\\['site'\\] has shape \\(29,\\), but the group has 30"),
        ("not a table", "target_covariates must be a pandas DataFrame or a dict"),
    ],
)
def test_bad_covariates_are_one_line(kind, message):
    background, target = _bad(kind)
    data = RNG.normal(size=(2, 30, 4))
    for name in ("cpca", "cvae"):
        model = METHODS[name].cls(
            **({"common_dim": 2, "salient_dim": 2} | (FAST if name == "cvae" else {}))
        )
        with pytest.raises(InvalidInputError, match=message) as raised:
            model.fit(*data, background_covariates=background, target_covariates=target)
        assert "\n" not in str(raised.value)


def test_a_name_the_dataset_does_not_have_is_one_line(tmp_path, capsys):
    argv = ["fit", "--dataset", "synthetic-tabular", "--covariates", "shared,bogus"]
    assert cli.main([*argv, "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "has no common factor 'bogus' known in both groups" in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


# --- encoding, dependence and leaks against plain computations -------------------------------


def test_the_encoding_is_standardised_numbers_and_indicator_columns():
    background, target = _covariates(30, 0), _covariates(30, 1)
    covariates, encoded = fit_covariates(background, target, (30, 30))
    assert [(c.name, c.kind) for c in covariates.columns] == [
        ("site", CATEGORICAL),
        ("age", CONTINUOUS),
        ("male", CATEGORICAL),
    ]
    both = pd.concat([background, target])
    expected = np.column_stack(
        [
            pd.get_dummies(both["site"]).to_numpy(dtype=float),
            (both["age"] - both["age"].mean()) / both["age"].std(ddof=0),
            pd.get_dummies(both["male"].astype(str)).to_numpy(dtype=float),
        ]
    )
    np.testing.assert_allclose(encoded.numpy(), expected, rtol=1e-5, atol=1e-6)
    again = Covariates.from_json(json.loads(json.dumps(covariates.as_json())))
    np.testing.assert_array_equal(again.encode(target, "target", 30), encoded[30:].numpy())


def test_the_erasure_leaves_no_linear_trace_and_changes_the_least():
    rng = np.random.default_rng(1)
    n = 400
    site = np.eye(3)[rng.integers(0, 3, n)]
    age = rng.normal(size=(n, 1))
    covariates = np.column_stack([site, age])
    s = rng.normal(size=(n, 6)) + covariates @ rng.normal(size=(4, 6))
    erasure = linear_erasure(torch.tensor(s), torch.tensor(covariates)).double().numpy()
    erased = s @ erasure
    cross = (erased - erased.mean(0)).T @ (covariates - covariates.mean(0)) / n
    assert np.abs(cross).max() < 1e-6  # no covariance with any covariate column
    assert np.linalg.matrix_rank(np.eye(6) - erasure, tol=1e-6) == 3  # 2 for 3 sites, 1 for age
    # LEACE's closed form: in whitened coordinates the erasure is the orthogonal projection
    # away from the whitened cross-covariance; a plain computation of it
    centred = s - s.mean(0)
    values, vectors = np.linalg.eigh(centred.T @ centred / n)
    whiten = vectors @ np.diag(values**-0.5) @ vectors.T
    u, _, _ = np.linalg.svd(whiten @ centred.T @ (covariates - covariates.mean(0)) / n)
    basis = u[:, :3]
    expected = np.eye(6) - whiten @ basis @ basis.T @ np.linalg.inv(whiten)
    np.testing.assert_allclose(erasure, expected, atol=1e-5)


class _Codes:
    """A 'model' whose codes are columns of the input."""

    def transform(self, x):
        return x[:, :2].astype(np.float32), x[:, 2:].astype(np.float32)


def test_the_leak_diagnostics_equal_plain_probes():
    data = {
        split: sepclr.datasets.load("synthetic-brain", split=split, size="small", side=8)
        for split in ("train", "test")
    }
    for split in data.values():  # codes: the common code holds age and site, the salient sex
        split.target = np.column_stack(
            [split.factors["age"], split.factors["site"], split.factors["sex"] + 0.0]
        ) + np.random.default_rng(0).normal(0, 0.3, (len(split.target), 3))
    leaks = covariate_leaks(_Codes(), data["train"], data["test"], ["age", "site", "sex"])
    train, test = data["train"], data["test"]

    def accuracy(columns, name):
        scaler = StandardScaler().fit(train.target[:, columns])
        probe = LogisticRegression(max_iter=1000).fit(
            scaler.transform(train.target[:, columns]), train.factors[name]
        )
        predicted = probe.predict(scaler.transform(test.target[:, columns]))
        return 100 * balanced_accuracy_score(test.factors[name], predicted)

    assert leaks["site"]["C"] == pytest.approx(accuracy([0, 1], "site"))
    assert leaks["sex"]["S"] == pytest.approx(accuracy([2], "sex"))
    assert leaks["site"]["chance"] == pytest.approx(100 / 3)
    scaler = StandardScaler().fit(train.target[:, :2])
    ridge = Ridge(alpha=1.0).fit(scaler.transform(train.target[:, :2]), train.factors["age"])
    r2 = r2_score(test.factors["age"], ridge.predict(scaler.transform(test.target[:, :2])))
    assert leaks["age"]["C"] == pytest.approx(r2) and leaks["age"]["C"] > 0.9
    assert leaks["age"]["S"] < 0.1 and leaks["sex"]["S"] > 90

    def one_hot(split):
        rows = [np.eye(2)[split.background_factors["sex"]], np.eye(2)[split.factors["sex"]]]
        return np.concatenate(rows), np.r_[np.zeros(len(rows[0])), np.ones(len(rows[1]))]

    (x_train, y_train), (x_test, y_test) = one_hot(train), one_hot(test)
    scaler = StandardScaler().fit(x_train)
    probe = LogisticRegression(max_iter=1000).fit(scaler.transform(x_train), y_train)
    auc = roc_auc_score(y_test, probe.decision_function(scaler.transform(x_test)))
    assert leaks["sex"]["group_auc"] == pytest.approx(auc)


def test_the_cpca_covariate_effect_recovers_a_known_linear_effect():
    rng = np.random.default_rng(2)
    n, features = 200, 5
    covariates = np.column_stack([np.eye(3)[rng.integers(0, 3, n)], rng.normal(size=n)])
    effect = rng.normal(size=(4, features))
    is_target = np.arange(n) % 2 == 0
    x = covariates @ effect + 3.0 * is_target[:, None] + 1.0  # a group shift and an offset
    residual = x - covariates @ covariate_effect(x, is_target, covariates)
    for group in (is_target, ~is_target):  # what is left is the group's shift and offset alone
        assert np.ptp(residual[group], axis=0).max() < 1e-8
    assert np.abs(residual[is_target][0] - residual[~is_target][0] - 3.0).max() < 1e-8


# --- what each method does with them ---------------------------------------------------------


@pytest.mark.slow
def test_a_named_categorical_covariate_leaves_the_salient_space_and_the_salient_factor_stays():
    """The paper's objective keeps synthetic-tabular's common class in s (56 % balanced
    accuracy, chance 33 %); named as a covariate it leaves, and the salient factor stays."""
    train, held_out = (
        sepclr.datasets.load("synthetic-tabular", n=160, split=split)
        for split in ("train", "validation")
    )
    background, target = train.covariates(["shared"])
    settings = {"epochs": 15, "common_dim": 8, "salient_dim": 8, "verbose": False, "device": "cpu"}
    scores = {}
    for named in (False, True):
        covariates = {"background_covariates": background, "target_covariates": target}
        model = sepclr.SepCLR(**settings).fit(
            train.background, train.target, **(covariates if named else {})
        )
        salient = [model.transform(split.target)[1] for split in (train, held_out)]
        scores[named] = {
            factor: probe_balanced_accuracy(
                salient[0], train.factors[factor], salient[1], held_out.factors[factor]
            )
            for factor in ("shared", "salient")
        }
    assert scores[False]["shared"] > 50
    assert scores[True]["shared"] < scores[False]["shared"] - 10
    assert scores[True]["shared"] < 45
    assert scores[True]["salient"] > scores[False]["salient"] - 5


def test_cpca_removes_the_covariates_effect_from_new_inputs_when_given():
    rng = np.random.default_rng(3)
    n = 120
    site = SITES[np.arange(2 * n) % 3]
    shift = {"a": 0.0, "b": 4.0, "c": -4.0}
    x = rng.normal(size=(2 * n, 5))
    x[:, 0] += [shift[s] for s in site]
    x[n:, 1] += rng.choice([-2.0, 2.0], n)  # the targets' own pattern
    covariates = [{"site": site[:n]}, {"site": site[n:]}]
    model = sepclr.CPCA(2, 3, alpha=1.0, standardize=False).fit(
        x[:n], x[n:], background_covariates=covariates[0], target_covariates=covariates[1]
    )
    assert abs(model.salient_components_[1, 0]) > 0.9  # the contrast finds the target pattern
    with_covariates = model.transform(x[n:], covariates=covariates[1])[1]
    without = model.transform(x[n:])[1]
    assert not np.allclose(with_covariates, without)
    plain = sepclr.CPCA(2, 3, alpha=1.0, standardize=False).fit(x[:n], x[n:])
    with pytest.raises(InvalidInputError, match="fitted without covariates"):
        plain.transform(x[n:], covariates=covariates[1])


def test_a_conditioned_vae_decoder_reads_the_covariates():
    data = sepclr.datasets.load("synthetic-tabular", n=48, features=12)
    background, target = data.covariates(["shared"])
    model = sepclr.ConVAE(3, 4, **FAST).fit(
        data.background, data.target, background_covariates=background, target_covariates=target
    )
    first = next(m for m in model.net_.decoder.modules() if isinstance(m, torch.nn.Linear))
    assert first.in_features == 3 + 4 + 3  # [z_c, z_s, three categories]
    rebuilt = [model.reconstruct(data.target, covariates=c) for c in (target, None)]
    assert rebuilt[0].shape == data.target.shape and not np.allclose(*rebuilt)


# --- the command line ----------------------------------------------------------------------------


def test_fit_names_covariates_records_them_and_reports_their_leaks(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["fit", "--dataset", "synthetic-tabular", "--dataset-option", "n=60", "--quiet"]
    argv += ["--method", "cvae", "--epochs", "1", "--covariates", "shared", "--out", str(out)]
    assert cli.main(argv) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["covariates"] == ["shared"]
    assert run["covariate_encoding"] == [
        {"name": "shared", "kind": "categorical", "categories": ["0", "1", "2"]}
    ]
    leaks = json.loads((out / "results.json").read_text())["covariate_leaks"]["shared"]
    assert leaks["measure"] == "balanced accuracy" and leaks["chance"] == pytest.approx(100 / 3)
    assert "| shared | balanced accuracy |" in (out / "results.md").read_text()
    assert "Covariate leaks" in capsys.readouterr().out
    assert sepclr.load(out).covariates_.names == ["shared"]


def test_a_table_column_named_as_a_covariate_is_no_feature(tmp_path):
    rng = np.random.default_rng(4)
    rows = 80
    table = pd.DataFrame(rng.normal(size=(rows, 4)), columns=[f"g{i}" for i in range(4)])
    table.insert(0, "group", np.where(np.arange(rows) % 2, "control", "treated"))
    table["site"] = SITES[np.arange(rows) % 3]
    table.to_csv(tmp_path / "data.csv", index=False)
    settings = sepclr.run.settings(
        "table-study",
        method="cpca",
        params={"common_dim": 2, "salient_dim": 3},
        dataset_options={"table": "data.csv"},
        data_dir=tmp_path,
        covariates=["site"],
    )
    assert settings["dataset_options"]["factors"] == ["site"]
    model = sepclr.run.fit(settings, tmp_path / "r", sepclr.run.Options(data_dir=tmp_path))
    assert model.sample_shape_ == (4,) and model.covariates_.names == ["site"]


def test_select_gives_the_covariates_to_every_candidate():
    data = sepclr.datasets.load("synthetic-tabular", n=60, features=12)
    params = {"epochs": 1, "batch_size": 16, "device": "cpu"}
    found = sepclr.select(
        data.background,
        data.target,
        candidates=["paper", "salient-4"],
        params=params,
        folds=1,
        covariates=data.covariates(["shared"]),
    )
    assert found.model.covariates_.names == ["shared"]
    assert hasattr(found.model, "covariate_erasure_")


def test_a_covariate_that_tells_the_groups_apart_is_warned_about(tmp_path, capsys):
    rng = np.random.default_rng(5)
    rows = 120
    target = np.arange(rows) % 2 == 0
    site = np.where(target, "A", "B")
    site[np.flatnonzero(target)[:6]] = "B"  # both sites in both groups, mostly one each
    site[np.flatnonzero(~target)[:6]] = "A"
    table = pd.DataFrame(rng.normal(size=(rows, 6)), columns=[f"g{i}" for i in range(6)])
    table.insert(0, "group", np.where(target, "treated", "control"))
    table["site"] = site
    table.to_csv(tmp_path / "data.csv", index=False)
    argv = ["fit", "--dataset", "table-study", "--data-dir", str(tmp_path), "--quiet"]
    argv += ["--method", "cpca", "--common-dim", "2", "--salient-dim", "2", "--covariates", "site"]
    assert cli.main([*argv, "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "sepclr: warning: the covariate 'site' alone tells targets from backgrounds" in err
    assert "Warning: the covariate 'site'" in (tmp_path / "r" / "results.md").read_text()


def test_integer_codes_are_categorical_as_a_pandas_category_or_as_text():
    codes = np.arange(30) % 3
    for given in (pd.Categorical(codes), codes.astype(str)):
        table = pd.DataFrame({"site": given})
        covariates, _ = fit_covariates(table, table.copy(), (30, 30))
        assert covariates.columns[0].kind == CATEGORICAL
        assert covariates.columns[0].categories == ("0", "1", "2")
    covariates, _ = fit_covariates({"site": codes}, {"site": codes}, (30, 30))
    assert covariates.columns[0].kind == CONTINUOUS  # plain integers are numbers
