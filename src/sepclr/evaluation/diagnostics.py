"""Diagnostics of a separation that need no factor labels, only which rows are targets.

A contrastive-analysis model promises three things a user can check on held-out rows of
their own data, labelled or not:

- backgrounds sit at the information-less salient code ``s' = 0`` and targets away from it:
  the **salient score** of a sample is its distance to ``s'``
  (:func:`sepclr.methods.codes.salient_scores`), and
  the area under the ROC curve of that score between targets and backgrounds
  (``salient_auc``) says how well it tells them apart (0.5 is chance, 1 perfect), and
  ``background_ratio`` how far backgrounds sit from ``s'`` compared with targets;
- the two codes of a target do not repeat each other: ``r2_salient_from_common`` and
  ``r2_common_from_salient`` are held-out R^2 of a linear prediction of one code from the
  other, fitted on training targets (0 when they share nothing linear, 1 when one is a
  linear function of the other);
- the common code does not tell the groups apart: ``common_group_auc`` is the held-out AUC
  of a logistic regression on ``c`` predicting the group (0.5 when the groups look alike
  in ``c``).

With known factors, :func:`clustering_scores` adds the clustering metrics that the
contrastive-analysis literature reports beside linear probes (silhouette, and k-means ARI
and NMI in each space).
"""

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (
    adjusted_rand_score,
    normalized_mutual_info_score,
    r2_score,
    roc_auc_score,
    silhouette_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sepclr.methods.codes import salient_scores

DIAGNOSTICS = (
    "salient_auc",
    "background_ratio",
    "r2_salient_from_common",
    "r2_common_from_salient",
    "common_group_auc",
)
CLUSTERING = ("silhouette", "ARI", "NMI")


class Transformer(Protocol):
    """Anything with ``transform(x) -> (common, salient)``: a fitted model."""

    def transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """The codes of ``x``."""
        ...


def group_auc(background: np.ndarray, target: np.ndarray) -> float:
    """Area under the ROC curve of a score that should be higher for targets.

    Parameters
    ----------
    background, target : ndarray, shape (n,)
        The scores of each group.

    Returns
    -------
    float
        The chance that a random target scores above a random background (ties count half).
    """
    labels = np.r_[np.zeros(len(background)), np.ones(len(target))]
    return float(roc_auc_score(labels, np.r_[background, target]))


def held_out_r2(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray
) -> float:
    """Held-out R^2 of a ridge regression (``alpha=1`` on standardised inputs) of ``y`` on ``x``.

    Parameters
    ----------
    train_x, train_y : ndarray
        The rows the regression is fitted on, (n, p) and (n,) or (n, q).
    test_x, test_y : ndarray
        The rows it is scored on.

    Returns
    -------
    float
        R^2 on the test rows, several outputs pooled, each weighted by its variance. Below 0
        when the prediction is worse than the test rows' mean; 0 when ``y`` does not vary on
        the test rows.
    """
    if float(np.var(test_y, axis=0).sum()) == 0.0:
        return 0.0
    model = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(train_x, train_y)
    return float(r2_score(test_y, model.predict(test_x), multioutput="variance_weighted"))


def code_group_auc(
    train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]
) -> float:
    """Held-out AUC of a logistic regression telling targets from backgrounds in a code."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    probe.fit(np.concatenate(train), np.r_[np.zeros(len(train[0])), np.ones(len(train[1]))])
    background, target = (probe.decision_function(codes) for codes in test)
    return group_auc(background, target)


Codes = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def encode_groups(model: Transformer, groups: tuple[Any, Any]) -> Codes:
    """The codes of both groups."""
    background, target = groups
    return model.transform(background), model.transform(target)


def diagnostics_of_codes(train: Codes, test: Codes) -> dict[str, float]:
    """The diagnostics of :data:`DIAGNOSTICS` from codes already computed."""
    (c_bg, _), (c_tg, s_tg) = train
    (c_bg_test, s_bg_test), (c_tg_test, s_tg_test) = test
    background, target = salient_scores(s_bg_test), salient_scores(s_tg_test)
    return {
        "salient_auc": group_auc(background, target),
        "background_ratio": float(background.mean() / max(target.mean(), 1e-12)),
        "r2_salient_from_common": held_out_r2(c_tg, s_tg, c_tg_test, s_tg_test),
        "r2_common_from_salient": held_out_r2(s_tg, c_tg, s_tg_test, c_tg_test),
        "common_group_auc": code_group_auc((c_bg, c_tg), (c_bg_test, c_tg_test)),
    }


def label_free_diagnostics(
    model: Transformer,
    train: tuple[Any, Any],
    test: tuple[Any, Any],
) -> dict[str, float]:
    """The diagnostics of :data:`DIAGNOSTICS` for a fitted ``model``, which need no labels.

    Parameters
    ----------
    model : estimator
        A fitted model (anything with ``transform(x) -> (common, salient)``).
    train : tuple of array-like
        (background, target) rows of a train split, where the linear maps are fitted.
    test : tuple of array-like
        (background, target) rows of a held-out split, where they are scored.

    Returns
    -------
    dict of str to float
        ``salient_auc``, ``background_ratio``, ``r2_salient_from_common``,
        ``r2_common_from_salient`` and ``common_group_auc``.
    """
    return diagnostics_of_codes(encode_groups(model, train), encode_groups(model, test))


def clustering_scores(
    common: np.ndarray, salient: np.ndarray, labels: Mapping[str, np.ndarray], seed: int = 0
) -> dict[str, float]:
    """How well the classes of each labelled factor cluster in each space.

    Parameters
    ----------
    common, salient : ndarray, shape (n, d)
        The codes (standardised here).
    labels : mapping of str to ndarray, shape (n,)
        Each factor's class of each row.
    seed : int
        The seed of k-means (10 initialisations).

    Returns
    -------
    dict of str to float
        Under ``<space>_<factor>_<metric>`` (space ``S`` salient or ``C`` common): the
        silhouette of the factor's classes, and the adjusted Rand index and normalised mutual
        information between them and a k-means clustering with as many clusters. A factor with
        fewer than 2 classes, or as many classes as rows, is skipped.
    """
    scores: dict[str, float] = {}
    for factor, values in labels.items():
        classes = len(np.unique(values))
        if not 2 <= classes < len(values):
            continue
        for space, codes in (("S", salient), ("C", common)):
            z = StandardScaler().fit_transform(np.asarray(codes, dtype=np.float64))
            clusters = KMeans(classes, n_init=10, random_state=seed).fit_predict(z)
            scores[f"{space}_{factor}_silhouette"] = float(silhouette_score(z, values))
            scores[f"{space}_{factor}_ARI"] = float(adjusted_rand_score(values, clusters))
            scores[f"{space}_{factor}_NMI"] = float(normalized_mutual_info_score(values, clusters))
    return scores


_MEANINGS = {
    "salient_auc": "salient score tells targets from backgrounds (AUC; 0.5 chance, 1 ideal)",
    "background_ratio": "backgrounds' mean salient score over targets' (0 ideal)",
    "r2_salient_from_common": "targets' salient code predicted from the common one (R^2; 0 ideal)",
    "r2_common_from_salient": "targets' common code predicted from the salient one (R^2; 0 ideal)",
    "common_group_auc": "common code tells targets from backgrounds (AUC; 0.5 ideal)",
}


def diagnostics_table(diagnostics: Mapping[str, float]) -> str:
    """The diagnostics as a Markdown table."""
    lines = ["| diagnostic | value | meaning |", "|---|---|---|"]
    for name, value in diagnostics.items():
        lines.append(f"| {name} | {value:.3f} | {_MEANINGS.get(name, '')} |")
    return "\n".join(lines)


def clustering_table(scores: Mapping[str, float]) -> str:
    """The clustering scores as a Markdown table."""
    rows: dict[str, dict[str, float]] = {}
    for key, value in scores.items():
        space_factor, metric = key.rsplit("_", 1)
        rows.setdefault(space_factor, {})[metric] = value
    lines = ["| space_factor | " + " | ".join(CLUSTERING) + " |", "|---|" + "---|" * 3]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[m]:.3f}" for m in CLUSTERING) + " |")
    return "\n".join(lines)
