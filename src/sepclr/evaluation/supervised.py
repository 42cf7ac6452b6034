"""The report of supervised SepCLR: does each salient dimension hold its attribute, and
only the salient space?"""

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from sepclr.evaluation.diagnostics import Transformer
from sepclr.evaluation.probes import probe_balanced_accuracy, probe_mean_absolute_error


def attribute_report(
    model: Transformer,
    kinds: Mapping[str, str],
    train: tuple[Any, Mapping[str, np.ndarray]],
    test: tuple[Any, Mapping[str, np.ndarray]],
) -> dict[str, dict[str, float]]:
    """How supervised SepCLR places each known attribute, on target samples."""
    train_c, train_s = model.transform(train[0])
    test_c, test_s = model.transform(test[0])
    rows: dict[str, dict[str, float]] = {}
    for k, (name, kind) in enumerate(kinds.items()):
        values_train, values_test = np.asarray(train[1][name]), np.asarray(test[1][name])
        rho = [abs(float(spearmanr(test_s[:, j], values_test)[0])) for j in range(test_s.shape[1])]
        probe = probe_balanced_accuracy if kind == "discrete" else probe_mean_absolute_error
        rows[name] = {
            "rho_dim": rho[k],
            "rho_other": max((r for j, r in enumerate(rho) if j != k), default=0.0),
            "S": probe(train_s, values_train, test_s, values_test),
            "C": probe(train_c, values_train, test_c, values_test),
        }
    return rows
