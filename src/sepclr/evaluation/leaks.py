"""How much of each named covariate the codes keep (its leak), and whether a covariate
tells the groups apart, which no separation of the codes can undo.

For each covariate, probes fitted on the train split's target codes are scored on the test
split's: the balanced accuracy of a logistic regression for a categorical covariate (beside
its chance level), the R^2 of a ridge regression for a continuous one (0 at chance). The
salient code should not keep a covariate; the common code may. A covariate whose values
alone tell targets from backgrounds (held-out AUC at least :data:`CONFOUNDED_AUC`) is
partly the group difference itself: keeping it out of the salient code also removes part of
what is specific to the targets.
"""

from typing import Any

import numpy as np

from sepclr.data.ca_dataset import CADataset
from sepclr.evaluation.diagnostics import Transformer, code_group_auc, held_out_r2
from sepclr.evaluation.probes import probe_balanced_accuracy

CONFOUNDED_AUC = 0.8


def covariate_leaks(
    model: Transformer, train: CADataset, test: CADataset, names: list[str]
) -> dict[str, dict[str, Any]]:
    """The leak of each covariate into both codes, and its group AUC.

    Parameters
    ----------
    model : Transformer
        A model fitted on ``train``.
    train, test : CADataset
        The splits the probes are fitted and scored on.
    names : list of str
        The covariates (common factors known in both groups).

    Returns
    -------
    dict of str to dict
        Per covariate: ``kind``, ``measure`` (``"balanced accuracy"`` in percent or
        ``"R2"``), ``S`` and ``C`` (the salient and common codes' scores, NaN when the train
        targets hold one class), ``chance`` and ``group_auc``.
    """
    train_covariates, test_covariates = train.covariates(names), test.covariates(names)
    train_codes, test_codes = model.transform(train.target), model.transform(test.target)
    leaks: dict[str, dict[str, Any]] = {}
    for name in names:
        y_train, y_test = train_covariates[1][name], test_covariates[1][name]
        continuous = np.issubdtype(np.asarray(y_train).dtype, np.floating)
        scores = [
            _leak(continuous, (codes_train, y_train), (codes_test, y_test))
            for codes_train, codes_test in zip(train_codes, test_codes, strict=True)
        ]
        levels = len(set(np.asarray(y_train).tolist()) | set(np.asarray(y_test).tolist()))
        leaks[name] = {
            "kind": "continuous" if continuous else "categorical",
            "measure": "R2" if continuous else "balanced accuracy",
            "C": scores[0],
            "S": scores[1],
            "chance": 0.0 if continuous else 100.0 / levels,
            "group_auc": _group_auc(name, train_covariates, test_covariates, continuous),
        }
    return leaks


def _leak(
    continuous: bool, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]
) -> float:
    """The held-out score of a probe of one covariate in one code."""
    if continuous:
        return held_out_r2(train[0], train[1], test[0], test[1])
    if len(set(np.asarray(train[1]).tolist())) < 2:
        return float("nan")
    return probe_balanced_accuracy(train[0], train[1], test[0], test[1])


def _group_auc(
    name: str,
    train: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
    test: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
    continuous: bool,
) -> float:
    """Held-out AUC of telling targets from backgrounds by the covariate alone."""
    values = [group[name] for split in (train, test) for group in split]
    if continuous:
        columns = [np.asarray(v, dtype=np.float64)[:, None] for v in values]
    else:
        levels = sorted(set().union(*(np.asarray(v).tolist() for v in values)))
        columns = [
            (np.asarray(v)[:, None] == np.asarray(levels)[None, :]).astype(float) for v in values
        ]
    return code_group_auc((columns[0], columns[1]), (columns[2], columns[3]))


def leaks_table(leaks: dict[str, dict[str, Any]]) -> str:
    """The leaks as a Markdown table, with a warning line per confounded covariate."""
    lines = [
        "| covariate | measure | S | C | chance | tells the groups apart (AUC) |",
        "|---|---|---|---|---|---|",
    ]
    for name, leak in leaks.items():
        shown = "{:.3f}" if leak["kind"] == "continuous" else "{:.1f}"
        lines.append(
            f"| {name} | {leak['measure']} | {shown.format(leak['S'])} | "
            f"{shown.format(leak['C'])} | {shown.format(leak['chance'])} | "
            f"{leak['group_auc']:.2f} |"
        )
    lines += [f"\nWarning: {warning}" for warning in confounded(leaks)]
    return "\n".join(lines)


def confounded(leaks: dict[str, dict[str, Any]]) -> list[str]:
    """A warning for each covariate that tells targets from backgrounds."""
    return [
        f"the covariate {name!r} alone tells targets from backgrounds (AUC "
        f"{leak['group_auc']:.2f}); keeping it out of the salient code also removes part of "
        "the difference between the groups"
        for name, leak in leaks.items()
        if leak["group_auc"] >= CONFOUNDED_AUC
    ]
