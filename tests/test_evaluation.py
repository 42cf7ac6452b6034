import numpy as np
import pytest

from sepclr.evaluation import delta_tot, ideal_scores, markdown_table, probe_balanced_accuracy

ROLES = {"digit": "salient", "object": "common"}
CHANCE = {"digit": 10.0, "object": 10.0}


@pytest.mark.parametrize(
    ("row", "expected"),
    [((96.2, 11.0, 10.4, 73.2), 32.0), ((90.6, 23.0, 11.2, 33.4), 90.2), ((100, 10, 10, 100), 0.0)],
)
def test_delta_tot_reproduces_poster_table_1(row, expected):
    scores = dict(zip(["S_digit", "C_digit", "S_object", "C_object"], row, strict=True))
    assert delta_tot(scores, ideal_scores(ROLES, CHANCE)) == pytest.approx(expected)


def test_probe_is_perfect_on_separable_and_chance_on_noise():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 800)
    separable = np.eye(4)[labels] * 5 + rng.normal(size=(800, 4)) * 0.1
    assert (
        probe_balanced_accuracy(separable[:400], labels[:400], separable[400:], labels[400:])
        == 100.0
    )
    noise = rng.normal(size=(800, 4))
    score = probe_balanced_accuracy(noise[:400], labels[:400], noise[400:], labels[400:])
    assert 10 < score < 40


def test_markdown_table():
    table = markdown_table({"a": {"x": 1.234, "y": 2}}, ["x", "y"])
    assert table.splitlines() == ["| method | x | y |", "|---|---|---|", "| a | 1.2 | 2.0 |"]
