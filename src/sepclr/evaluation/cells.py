"""What single-cell studies report about the common space, when cell types are known.

- **Cross-condition transfer**: a cell-type probe fitted on the backgrounds' common codes
  (train split) and scored on the targets' common codes (test split), balanced accuracy in
  percent. A common space that keeps cell types whatever the condition scores high.
- **Cell types over both conditions**: the silhouette, ARI and NMI of the cell types in the
  common space over the test cells of both groups
  (:func:`sepclr.evaluation.diagnostics.clustering_scores`).

The condition AUC of the common code is the label-free diagnostic ``common_group_auc``, and
the clustering of the salient factors over the targets is in every report already.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from sepclr.data.ca_dataset import CADataset
from sepclr.evaluation.diagnostics import clustering_scores
from sepclr.evaluation.probes import probe_balanced_accuracy
from sepclr.evaluation.report import is_continuous


def cross_condition_transfer(
    background_codes: np.ndarray,
    background_types: np.ndarray,
    target_codes: np.ndarray,
    target_types: np.ndarray,
) -> float:
    """Balanced accuracy (percent) of a cell-type probe fitted on background codes and read
    on target codes.
    """
    return probe_balanced_accuracy(background_codes, background_types, target_codes, target_types)


def cell_scores(model: Any, train: CADataset, test: CADataset) -> dict[str, float]:
    """The transfer and the clustering over both conditions of every common factor of
    classes known in both groups (the cell types).

    Parameters
    ----------
    model : Transformer
        A fitted model.
    train, test : CADataset
        Its splits.

    Returns
    -------
    dict of str to float
        ``transfer_<factor>`` (:func:`cross_condition_transfer`) and
        ``C_<factor>_silhouette``, ``_ARI``, ``_NMI`` over the test cells of both groups;
        empty without such a factor.
    """
    factors = [
        f
        for f, role in test.roles.items()
        if role == "common"
        and f in test.background_factors
        and f in train.background_factors
        and not is_continuous(test.factors[f])
    ]
    if not factors:
        return {}
    common_train = model.transform(train.background)[0]
    (common_bg, salient_bg), (common_tg, salient_tg) = (
        model.transform(test.background),
        model.transform(test.target),
    )
    scores: dict[str, float] = {}
    for factor in factors:
        scores[f"transfer_{factor}"] = cross_condition_transfer(
            common_train, train.background_factors[factor], common_tg, test.factors[factor]
        )
    labels = {f: np.r_[test.background_factors[f], test.factors[f]] for f in factors}
    both = clustering_scores(
        np.concatenate([common_bg, common_tg]), np.concatenate([salient_bg, salient_tg]), labels
    )
    return scores | {k: v for k, v in both.items() if k.startswith("C_")}


def cells_table(scores: Mapping[str, float]) -> str:
    """The cell scores as a Markdown table."""
    factors = [key.removeprefix("transfer_") for key in scores if key.startswith("transfer_")]
    lines = [
        "| factor | transfer (%) | silhouette | ARI | NMI |",
        "|---|---|---|---|---|",
    ]
    for f in factors:
        cells = [f"{scores[f'transfer_{f}']:.1f}"]
        cells += [
            f"{scores.get(f'C_{f}_{m}', float('nan')):.3f}" for m in ("silhouette", "ARI", "NMI")
        ]
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
