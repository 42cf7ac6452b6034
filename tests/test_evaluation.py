import numpy as np
import pytest
import torch

from sepclr.data.ca_dataset import CADataset, ProbeProtocol
from sepclr.evaluation import delta_tot, ideal_scores, markdown_table, probe_balanced_accuracy
from sepclr.evaluation.probes import probe_accuracy
from sepclr.evaluation.report import ideal_row, probe_columns, probe_row

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


class _FixedModel:
    """transform: the first two columns are the common code, the next two the salient one;
    encode: heads that are the representations with the group flag (last column) added."""

    def transform(self, x):
        return x[:, :2], x[:, 2:4]

    def encode(self, x):
        from sepclr.nets.encoder import EncodedBatch

        heads = torch.from_numpy(np.concatenate([x[:, :4], x[:, 4:5]], axis=1).astype(np.float32))
        common, salient = torch.from_numpy(x[:, :2]), torch.from_numpy(x[:, 2:4])
        return EncodedBatch(common, heads[:, [0, 1, 4]], salient, heads[:, [2, 3, 4]])


PAPER_PROTOCOLS = {  # as the builders of these datasets set them (test_paper_datasets.py)
    "cifar-mnist": ProbeProtocol(accuracy=True),
    "chexpert-subtypes": ProbeProtocol(group_probe="head"),
}


def _dataset(name: str, seed: int) -> CADataset:
    """Targets: digit 0 (80 %) or 1, readable from the salient columns; an age readable from
    the common ones; the group flag only in the last column, which transform() hides."""
    rng = np.random.default_rng(seed)
    n = 200
    digit = (rng.random(n) < 0.2).astype(np.int64)
    age = rng.uniform(20, 80, n)
    target = np.c_[
        age / 10 + rng.normal(0, 0.1, n),
        rng.normal(size=n),
        digit + rng.normal(0, 0.6, n),
        rng.normal(size=n),
        np.ones(n),
    ]
    background = np.c_[rng.normal(size=(n, 4)), np.zeros(n)]
    return CADataset(
        name,
        "train",
        background,
        target,
        {"digit": digit, "age": age},
        {"digit": "salient", "age": "common"},
        protocol=PAPER_PROTOCOLS.get(name, ProbeProtocol()),
    )


def test_each_paper_dataset_is_probed_as_in_its_protocol():
    """cifar-mnist: plain accuracy (on an 80/20 class split it differs from balanced
    accuracy); chexpert-subtypes: balanced accuracy, and a group probe on the projector heads
    first; a continuous factor is a regression MAE outside delta_TOT."""
    model = _FixedModel()
    rows = {}
    for name in ("cifar-mnist", "chexpert-subtypes"):
        train, test = _dataset(name, 0), _dataset(name, 1)
        rows[name] = probe_row(model, train, test)
        assert list(rows[name]) == probe_columns(test)
    features_train, features_test = _dataset("x", 0).target[:, 2:4], _dataset("x", 1).target[:, 2:4]
    labels_train, labels_test = _dataset("x", 0).factors["digit"], _dataset("x", 1).factors["digit"]
    assert rows["cifar-mnist"]["S_digit"] == pytest.approx(
        probe_accuracy(features_train, labels_train, features_test, labels_test)
    )
    assert rows["chexpert-subtypes"]["S_digit"] == pytest.approx(
        probe_balanced_accuracy(features_train, labels_train, features_test, labels_test)
    )
    assert rows["cifar-mnist"]["S_digit"] != rows["chexpert-subtypes"]["S_digit"]
    assert probe_columns(_dataset("chexpert-subtypes", 0))[:2] == ["S_group", "C_group"]
    assert rows["chexpert-subtypes"]["S_group"] == 100.0  # read from the heads' group column
    assert rows["chexpert-subtypes"]["C_age_MAE"] < 2.0 < rows["chexpert-subtypes"]["S_age_MAE"]
    ideal = ideal_row(_dataset("chexpert-subtypes", 1))
    assert ideal["S_group"] == 100.0 and ideal["C_group"] == 50.0 and "S_age_MAE" not in ideal
