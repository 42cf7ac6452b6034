"""Evaluation of a fitted method on a CA dataset: the probe row and its tables."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from sepclr.data.catalog import CADataset
from sepclr.evaluation.diagnostics import Transformer
from sepclr.evaluation.metrics import chance_level, delta_tot, ideal_scores
from sepclr.evaluation.probes import (
    probe_accuracy,
    probe_balanced_accuracy,
    probe_mean_absolute_error,
)


def ordered_factors(roles: Mapping[str, str]) -> list[str]:
    """Salient factors first, then common ones (the column order of the paper's Table 1)."""
    return sorted(roles, key=lambda f: (roles[f] != "salient", f))


def is_continuous(values: np.ndarray) -> bool:
    """A factor with floating-point values (age, a clinical score, a position) is
    continuous: it is probed by regression and reported as a mean absolute error.
    """
    return bool(np.issubdtype(np.asarray(values).dtype, np.floating))


def probe_columns(test: CADataset) -> list[str]:
    """The columns of :func:`probe_row` for ``test``: the group probe when its protocol has
    one, the factors, then ``delta_TOT`` when a factor has classes (none without factors).
    """
    columns = ["S_group", "C_group"] if test.protocol.group_probe else []
    for factor in ordered_factors(test.roles):
        suffix = "_MAE" if is_continuous(test.factors[factor]) else ""
        columns += [f"S_{factor}{suffix}", f"C_{factor}{suffix}"]
    classes = any(not is_continuous(test.factors[factor]) for factor in test.roles)
    return [*columns, "delta_TOT"] if classes else columns


def probe_row(model: Transformer, train: CADataset, test: CADataset) -> dict[str, float]:
    """Probe scores of ``model`` on ``test`` targets, probes fitted on ``train`` targets.

    For each factor f: ``S_f`` (salient representation) and ``C_f`` (common one): balanced
    accuracy in percent of a logistic regression for a factor of classes; for a continuous
    factor (:func:`is_continuous`), ``S_f_MAE`` and ``C_f_MAE``, the mean absolute error of
    a linear regression. ``delta_TOT`` is the distance to the ideal row over the class
    factors. The dataset's protocol (:class:`sepclr.data.ca_dataset.ProbeProtocol`) may ask
    for plain accuracy and for the target-versus-background probe ``S_group`` / ``C_group``.
    """
    protocol = test.protocol
    scores: dict[str, float] = {}
    if protocol.group_probe is not None:
        scores |= _group_probe(model, train, test, protocol.group_probe == "head")
    common_train, salient_train = model.transform(train.target)
    common_test, salient_test = model.transform(test.target)
    chance: dict[str, float] = {}
    probe: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]
    for factor in ordered_factors(test.roles):
        y_train, y_test = train.factors[factor], test.factors[factor]
        if is_continuous(y_test):
            probe, name = probe_mean_absolute_error, f"{factor}_MAE"
        else:
            probe, name = probe_accuracy if protocol.accuracy else probe_balanced_accuracy, factor
            chance[factor] = chance_level(len(np.unique(y_test)))
        scores[f"S_{name}"] = probe(salient_train, y_train, salient_test, y_test)
        scores[f"C_{name}"] = probe(common_train, y_train, common_test, y_test)
    if chance:
        roles = {f: r for f, r in test.roles.items() if f in chance}
        scores["delta_TOT"] = delta_tot(scores, ideal_scores(roles, chance))
    return scores


def _features(model: Transformer, x: Any, heads: bool) -> tuple[np.ndarray, np.ndarray]:
    """(common, salient) representations, or projector heads when asked and available."""
    encode = getattr(model, "encode", None)
    if heads and encode is not None:
        out = encode(x)
        return out.common_head.numpy(), out.salient_head.numpy()
    return model.transform(x)


def _group_probe(
    model: Transformer, train: CADataset, test: CADataset, heads: bool
) -> dict[str, float]:
    """Balanced accuracy of telling targets from backgrounds, on all samples."""
    spaces = []
    for data in (train, test):
        bg, tg = _features(model, data.background, heads), _features(model, data.target, heads)
        labels = np.r_[np.zeros(len(bg[0])), np.ones(len(tg[0]))]
        spaces.append(([np.concatenate([b, t]) for b, t in zip(bg, tg, strict=True)], labels))
    (train_spaces, y_train), (test_spaces, y_test) = spaces
    return {
        f"{space}_group": probe_balanced_accuracy(train_spaces[k], y_train, test_spaces[k], y_test)
        for space, k in (("S", 1), ("C", 0))
    }


def ideal_row(test: CADataset) -> dict[str, float]:
    """The 'best expected' row for ``test`` (class factors, and the group probe of its
    protocol: 100 from S, 50 from C).
    """
    group = {"S_group": 100.0, "C_group": 50.0} if test.protocol.group_probe else {}
    classes = [f for f in ordered_factors(test.roles) if not is_continuous(test.factors[f])]
    chance = {f: chance_level(len(np.unique(test.factors[f]))) for f in classes}
    ideal = ideal_scores({f: test.roles[f] for f in classes}, chance)
    return {**group, **ideal, "delta_TOT": 0.0}


def format_score(column: str, value: float) -> str:
    """A score as shown in tables: three decimals for a mean absolute error (its unit may be
    small, e.g. a clinical score in [0, 1]) and an R^2, one decimal for percentages.
    """
    return f"{value:.3f}" if column.endswith(("_MAE", "_R2")) else f"{value:.1f}"


def _cell(column: str, value: object) -> str:
    return format_score(column, value) if isinstance(value, int | float) else str(value)


def markdown_table(rows: Mapping[str, Mapping[str, object]], columns: Sequence[str]) -> str:
    """A markdown table with one row per entry of ``rows`` (first column: its name); numbers
    are shown with one decimal, other values as they are, missing ones empty.
    """
    lines = [
        "| method | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for name, row in rows.items():
        cells = [_cell(c, row[c]) if c in row else "" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table3_layout(
    summary: Mapping[str, Mapping[str, float]], test: CADataset, label: Callable[[str], str]
) -> str:
    """The poster's Table 3 layout (schizophrenia on 3-D MRI): common factors (continuous
    ones as MAE first), salient factors, then DIAGNOSIS (the group probe); for each, the C
    and S columns with the direction that is better (a common factor should be in C and not
    in S, a salient one the reverse); cells are mean ± std over seeds.
    """
    roles = dict(test.roles)
    order = sorted(
        roles, key=lambda f: (roles[f] == "salient", not is_continuous(test.factors[f]), f)
    )
    columns: list[tuple[str, str]] = []  # (header, key)
    for factor in [*order, "group"]:
        continuous = factor != "group" and is_continuous(test.factors[factor])
        name = "DIAGNOSIS" if factor == "group" else factor.upper()
        metric, key = ("MAE", f"{factor}_MAE") if continuous else ("B-ACC", factor)
        wanted = "S" if factor == "group" or roles.get(factor) == "salient" else "C"
        for space in "CS":
            higher = (space == wanted) != continuous
            arrow = "↑" if higher else "↓"
            columns.append((f"{name} {metric} {space} {arrow}", f"{space}_{key}"))
    rows = {
        label(variant): {
            header: f"{row[key]:.2f} ± {row[key + '_std']:.2f}"
            if key.endswith("_MAE")
            else f"{row[key]:.1f} ± {row[key + '_std']:.1f}"
            for header, key in columns
        }
        for variant, row in summary.items()
    }
    return markdown_table(rows, [header for header, _ in columns])
