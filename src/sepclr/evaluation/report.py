"""Evaluation of a fitted method on a CA dataset: the probe row and its tables."""

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sepclr.data.datasets import CADataset
from sepclr.evaluation.metrics import chance_level, delta_tot, ideal_scores
from sepclr.evaluation.probes import probe_balanced_accuracy, probe_mean_absolute_error


class Transformer(Protocol):
    def transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]: ...


def ordered_factors(roles: Mapping[str, str]) -> list[str]:
    """Salient factors first, then common ones (the column order of the paper's Table 1)."""
    return sorted(roles, key=lambda f: (roles[f] != "salient", f))


def is_continuous(values: np.ndarray) -> bool:
    """A factor with floating-point values (age, a clinical score, a position) is
    continuous: it is probed by regression and reported as a mean absolute error."""
    return bool(np.issubdtype(np.asarray(values).dtype, np.floating))


def probe_columns(test: CADataset) -> list[str]:
    """The columns of :func:`probe_row` for ``test``'s factors, then ``delta_TOT``."""
    columns = []
    for factor in ordered_factors(test.roles):
        suffix = "_MAE" if is_continuous(test.factors[factor]) else ""
        columns += [f"S_{factor}{suffix}", f"C_{factor}{suffix}"]
    return [*columns, "delta_TOT"]


def probe_row(model: Transformer, train: CADataset, test: CADataset) -> dict[str, float]:
    """Probe scores of ``model`` on ``test`` targets, probes fitted on ``train`` targets.

    For each factor f: ``S_f`` (salient representation) and ``C_f`` (common one): balanced
    accuracy in percent of a logistic regression for a factor of classes; for a continuous
    factor (:func:`is_continuous`), ``S_f_MAE`` and ``C_f_MAE``, the mean absolute error of
    a linear regression. ``delta_TOT`` is the distance to the ideal row over the class
    factors.
    """
    common_train, salient_train = model.transform(train.target)
    common_test, salient_test = model.transform(test.target)
    scores: dict[str, float] = {}
    chance: dict[str, float] = {}
    probe: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]
    for factor in ordered_factors(test.roles):
        y_train, y_test = train.factors[factor], test.factors[factor]
        if is_continuous(y_test):
            probe, name = probe_mean_absolute_error, f"{factor}_MAE"
        else:
            probe, name = probe_balanced_accuracy, factor
            chance[factor] = chance_level(len(np.unique(y_test)))
        scores[f"S_{name}"] = probe(salient_train, y_train, salient_test, y_test)
        scores[f"C_{name}"] = probe(common_train, y_train, common_test, y_test)
    roles = {f: r for f, r in test.roles.items() if f in chance}
    scores["delta_TOT"] = delta_tot(scores, ideal_scores(roles, chance))
    return scores


def ideal_row(test: CADataset) -> dict[str, float]:
    """The 'best expected' row for ``test`` (class factors only)."""
    classes = [f for f in ordered_factors(test.roles) if not is_continuous(test.factors[f])]
    chance = {f: chance_level(len(np.unique(test.factors[f]))) for f in classes}
    ideal = ideal_scores({f: test.roles[f] for f in classes}, chance)
    return {**ideal, "delta_TOT": 0.0}


def _cell(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else str(value)


def markdown_table(rows: Mapping[str, Mapping[str, object]], columns: Sequence[str]) -> str:
    """A markdown table with one row per entry of ``rows`` (first column: its name); numbers
    are shown with one decimal, other values as they are, missing ones empty."""
    lines = [
        "| method | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for name, row in rows.items():
        cells = [_cell(row[c]) if c in row else "" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(path: str | Path, document: Any) -> None:
    """Write ``document`` as indented JSON."""
    Path(path).write_text(json.dumps(document, indent=2) + "\n")
