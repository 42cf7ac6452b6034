"""Label-free diagnostics and clustering metrics against plain computations."""

import itertools
import math

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from sepclr.evaluation.diagnostics import (
    DIAGNOSTICS,
    clustering_scores,
    clustering_table,
    diagnostics_table,
    group_auc,
    held_out_r2,
    label_free_diagnostics,
    salient_scores,
)


def test_salient_score_is_the_distance_to_the_information_less_code() -> None:
    codes = np.array([[3.0, 4.0], [0.0, 0.0], [-1.0, 0.0]], dtype=np.float32)
    assert salient_scores(codes).tolist() == [5.0, 0.0, 1.0]


def _plain_auc(background: np.ndarray, target: np.ndarray) -> float:
    wins = 0.0
    for b, t in itertools.product(background, target):
        wins += 1.0 if t > b else 0.5 if t == b else 0.0
    return wins / (len(background) * len(target))


def test_group_auc_is_the_share_of_target_background_pairs_ranked_right() -> None:
    rng = np.random.default_rng(0)
    background = np.round(rng.normal(size=30), 1)  # rounded: ties occur
    target = np.round(rng.normal(size=25) + 0.7, 1)
    assert group_auc(background, target) == pytest.approx(_plain_auc(background, target))
    assert group_auc(np.zeros(3), np.ones(4)) == 1.0


def _plain_ridge_r2(train_x, train_y, test_x, test_y, alpha=1.0) -> float:  # type: ignore[no-untyped-def]
    mean, scale = train_x.mean(0), train_x.std(0)
    a, b = (train_x - mean) / scale, (test_x - mean) / scale
    y_mean = train_y.mean(0)
    coef = np.linalg.solve(a.T @ a + alpha * np.eye(a.shape[1]), a.T @ (train_y - y_mean))
    residual = ((test_y - (b @ coef + y_mean)) ** 2).sum()
    total = ((test_y - test_y.mean(0)) ** 2).sum()
    return float(1.0 - residual / total)


def test_held_out_r2_is_that_of_a_ridge_regression_on_standardised_inputs() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 5)) * [1.0, 10.0, 0.1, 2.0, 1.0]
    y = x[:, :2] @ rng.normal(size=(2, 3)) + 0.5 * rng.normal(size=(80, 3))
    expected = _plain_ridge_r2(x[:60], y[:60], x[60:], y[60:])
    assert held_out_r2(x[:60], y[:60], x[60:], y[60:]) == pytest.approx(expected, abs=1e-9)
    assert held_out_r2(x[:60], y[:60], x[60:], np.ones((20, 3))) == 0.0


class _Codes:
    """A fitted model stand-in: the codes are the first columns of the input."""

    def transform(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[:, :2], x[:, 2:]


def test_label_free_diagnostics_of_known_codes() -> None:
    rng = np.random.default_rng(2)

    def groups(n: int) -> tuple[np.ndarray, np.ndarray]:
        common = rng.normal(size=(2 * n, 2))
        salient = np.zeros((2 * n, 2))
        salient[n:] = 2.0 + rng.normal(size=(n, 2))
        salient[:n] = 0.1 * rng.normal(size=(n, 2))
        x = np.hstack([common, salient])
        return x[:n], x[n:]

    train, test = groups(200), groups(100)
    found = label_free_diagnostics(_Codes(), train, test)
    assert list(found) == list(DIAGNOSTICS)
    background, target = salient_scores(test[0][:, 2:]), salient_scores(test[1][:, 2:])
    assert found["salient_auc"] == pytest.approx(_plain_auc(background, target))
    assert found["background_ratio"] == pytest.approx(background.mean() / target.mean())
    expected = _plain_ridge_r2(train[1][:, :2], train[1][:, 2:], test[1][:, :2], test[1][:, 2:])
    assert found["r2_salient_from_common"] == pytest.approx(expected, abs=1e-9)
    # the common codes are drawn alike in both groups: no better than chance, with a margin
    assert abs(found["common_group_auc"] - 0.5) < 0.1
    assert found["salient_auc"] > 0.99 and found["background_ratio"] < 0.1


def _plain_silhouette(z: np.ndarray, labels: np.ndarray) -> float:
    distances = np.sqrt(((z[:, None] - z[None]) ** 2).sum(-1))
    values = []
    for i in range(len(z)):
        same = (labels == labels[i]) & (np.arange(len(z)) != i)
        a = distances[i, same].mean()
        b = min(distances[i, labels == k].mean() for k in set(labels) if k != labels[i])
        values.append((b - a) / max(a, b))
    return float(np.mean(values))


def _plain_ari(a: np.ndarray, b: np.ndarray) -> float:
    table = np.array([[np.sum((a == i) & (b == j)) for j in np.unique(b)] for i in np.unique(a)])

    def pairs(counts: np.ndarray) -> float:
        return float(sum(math.comb(int(n), 2) for n in counts.ravel()))

    index, rows, cols = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    expected = rows * cols / math.comb(len(a), 2)
    return (index - expected) / (0.5 * (rows + cols) - expected)


def _plain_nmi(a: np.ndarray, b: np.ndarray) -> float:
    n = len(a)

    def entropy(x: np.ndarray) -> float:
        p = np.unique(x, return_counts=True)[1] / n
        return float(-(p * np.log(p)).sum())

    mutual = 0.0
    for i, j in itertools.product(np.unique(a), np.unique(b)):
        joint = np.sum((a == i) & (b == j)) / n
        if joint > 0:
            mutual += joint * math.log(joint / (np.mean(a == i) * np.mean(b == j)))
    return mutual / (0.5 * (entropy(a) + entropy(b)))


def test_clustering_scores_against_plain_formulas() -> None:
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1, 2], 20)
    common = rng.normal(size=(60, 3)) + 5.0 * np.eye(3)[labels]  # the factor is in c
    salient = rng.normal(size=(60, 2))  # and not in s
    scores = clustering_scores(common, salient, {"kind": labels, "constant": np.zeros(60)})
    assert sorted(scores) == sorted(
        f"{space}_kind_{metric}" for space in "SC" for metric in ("silhouette", "ARI", "NMI")
    )
    for space, codes in (("S", salient), ("C", common)):
        z = StandardScaler().fit_transform(codes)
        clusters = KMeans(3, n_init=10, random_state=0).fit_predict(z)
        assert scores[f"{space}_kind_silhouette"] == pytest.approx(_plain_silhouette(z, labels))
        assert scores[f"{space}_kind_ARI"] == pytest.approx(_plain_ari(labels, clusters))
        assert scores[f"{space}_kind_NMI"] == pytest.approx(_plain_nmi(labels, clusters))
    assert scores["C_kind_ARI"] > 0.8 > 0.2 > scores["S_kind_ARI"]


def test_tables_name_every_value() -> None:
    table = diagnostics_table({"salient_auc": 0.91234})
    assert "| salient_auc | 0.912 |" in table
    scores = {"S_kind_silhouette": 0.1, "S_kind_ARI": 0.2, "S_kind_NMI": 0.3}
    assert "| S_kind | 0.100 | 0.200 | 0.300 |" in clustering_table(scores)


def test_fit_on_unlabelled_rows_reports_diagnostics_and_plots_the_scores(tmp_path) -> None:
    """A table with groups and no factor: no probe, but the diagnostics and the histogram
    of salient scores."""
    import json

    from sepclr import cli

    rng = np.random.default_rng(0)
    lines = ["group,a,b,c"]
    for i in range(80):
        group = "control" if i % 2 == 0 else "treated"
        a, b, c = rng.normal(size=3) + (2.0 if group == "treated" else 0.0) * np.array([1, 0, 0])
        lines.append(f"{group},{a},{b},{c}")
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    argv = ["fit", "--dataset", "table-study", "--data-dir", str(tmp_path), "--out"]
    options = ["--epochs", "2", "--device", "cpu", "--quiet", "--plot"]
    assert cli.main([*argv, str(tmp_path / "run"), *options]) == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert "rows" not in results and list(results["diagnostics"]) == list(DIAGNOSTICS)
    assert "Label-free diagnostics" in (tmp_path / "run" / "results.md").read_text()
    assert (tmp_path / "run" / "scores.png").stat().st_size > 0
    assert not (tmp_path / "run" / "spaces.png").exists()
