"""The report on a trained model and its dataset: the probe table (with the untrained floor
and the ideal row), the clustering metrics, supervised SepCLR's attribute table and the
label-free diagnostics, as one JSON document and one markdown text."""

import warnings
from typing import Any

from sepclr.data.ca_dataset import CADataset
from sepclr.errors import SepCLRError, SepCLRWarning
from sepclr.evaluation.cells import cell_scores, cells_table
from sepclr.evaluation.diagnostics import (
    clustering_scores,
    clustering_table,
    diagnostics_table,
    label_free_diagnostics,
)
from sepclr.evaluation.leaks import confounded, covariate_leaks, leaks_table
from sepclr.evaluation.report import (
    ideal_row,
    is_continuous,
    markdown_table,
    probe_columns,
    probe_row,
)
from sepclr.evaluation.supervised import attribute_report
from sepclr.methods import TrainedEstimator


def known_attributes(model: Any, data: CADataset) -> dict[str, Any]:
    """What ``fit`` needs beside the samples for a supervised SepCLR."""
    names = model.get_params().get("salient_attributes") or {}
    missing = sorted(set(names) - set(data.factors))
    if missing:
        raise SepCLRError(f"{data.name} has no factor {missing} for salient_attributes")
    return {"attributes": {name: data.factors[name] for name in names}} if names else {}


def fit_inputs(model: Any, data: CADataset, covariates: list[str]) -> dict[str, Any]:
    """What ``fit`` takes beside the samples: supervised SepCLR's attributes
    (:func:`known_attributes`) and the named covariates of both groups.
    """
    inputs = known_attributes(model, data)
    if covariates:
        background, target = data.covariates(covariates)
        inputs |= {"background_covariates": background, "target_covariates": target}
    return inputs


def model_report(
    model: Any, dataset: str, splits: tuple[CADataset, CADataset], run: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """The report of a trained model: the results document and its Markdown text.

    The label-free diagnostics are always there; the probes, the clustering metrics and the
    attribute table only where the dataset labels its samples; for cells, the cell types
    across conditions (:mod:`sepclr.evaluation.cells`).
    """
    train, test = splits
    document: dict[str, Any] = {"dataset": dataset, "run": run}
    groups = ((train.background, train.target), (test.background, test.target))
    diagnostics = label_free_diagnostics(model, *groups)
    document["diagnostics"] = diagnostics
    floor = _untrained_floor(model, train, list(run.get("covariates") or []))
    if floor is not None:
        _warn_if_no_better(diagnostics, label_free_diagnostics(floor, *groups))
    sections = []
    if probe_columns(test):
        sections.append(_probe_report(model, floor, dataset, splits, document))
        if dataset in ROLES_GIVEN_BY_USER:
            sections.append(_roles_line(test.roles))
    else:
        sections.append(f"No factors to probe: {dataset} labels none of its samples.")
    if train.preparation is not None or dataset == "anndata-study":
        cells = cell_scores(model, train, test)
        if cells:
            document["cells"] = cells
            sections.append(
                "Cell types across conditions (common code; transfer: probe fitted on the train "
                "backgrounds, read on the test targets; clustering: test cells of both "
                "groups):\n\n" + cells_table(cells)
            )
    names = list(run.get("covariates") or [])
    if names:
        leaks = covariate_leaks(model, train, test, names)
        document["covariate_leaks"] = leaks
        for warning in confounded(leaks):
            warnings.warn(warning, SepCLRWarning, stacklevel=2)
        sections.append(
            "Covariate leaks (test targets; probes fitted on the train targets):\n\n"
            + leaks_table(leaks)
        )
    sections.append(
        "Label-free diagnostics (test split; no factor labels used):\n\n"
        + diagnostics_table(diagnostics)
    )
    return document, "\n\n".join(sections)


ROLES_GIVEN_BY_USER = ("table-study", "anndata-study", "nifti-study")


def _roles_line(roles: dict[str, str]) -> str:
    """The factors' roles, and how to change them."""
    listed = ", ".join(f"{factor} ({role})" for factor, role in roles.items())
    return (
        f"Factors: {listed}. A factor is scored as common unless it is named salient "
        "(--dataset-option salient=NAME): a salient one should be read from S, a common one "
        "from C."
    )


def _untrained_floor(model: Any, train: CADataset, covariates: list[str]) -> Any:
    """The same architecture untrained, fitted as ``model`` was (None for cPCA)."""
    if not isinstance(model, TrainedEstimator):
        return None
    floor = model.untrained()
    floor.fit(train.background, train.target, **fit_inputs(model, train, covariates))
    return floor


def _warn_if_no_better(trained: dict[str, float], untrained: dict[str, float]) -> None:
    """Warn when the salient score tells the groups apart no better than before training."""
    if trained["salient_auc"] <= untrained["salient_auc"]:
        warnings.warn(
            f"the trained model's salient score tells targets from backgrounds no better than "
            f"the untrained encoder's (held-out AUC {trained['salient_auc']:.3f} against "
            f"{untrained['salient_auc']:.3f}): train longer, change the settings "
            "(sepclr select), or check that the groups differ",
            SepCLRWarning,
            stacklevel=3,
        )


def _probe_report(
    model: Any,
    floor: Any,
    dataset: str,
    splits: tuple[CADataset, CADataset],
    document: dict[str, Any],
) -> str:
    """The probe table (with the untrained floor when there is one), the clustering metrics
    and supervised SepCLR's attribute table, added to ``document``."""
    train, test = splits
    rows = {f"{type(model).__name__} ({dataset})": probe_row(model, train, test)}
    if floor is not None:
        rows["untrained encoder (floor)"] = probe_row(floor, train, test)
    rows["best expected"] = ideal_row(test)
    document["rows"] = rows
    table = markdown_table(rows, probe_columns(test))
    if test.label_names:
        document["labels"] = test.label_names
        table += "".join(
            f"\n\n{factor}: " + ", ".join(f"{k} {name}" for k, name in enumerate(names))
            for factor, names in test.label_names.items()
        )
    classes = {f: v for f, v in test.factors.items() if f in test.roles and not is_continuous(v)}
    if classes:
        common, salient = model.transform(test.target)
        clustering = clustering_scores(common, salient, classes)
        document["clustering"] = clustering
        table += "\n\nClustering of the test targets:\n\n" + clustering_table(clustering)
    kinds = model.get_params().get("salient_attributes")
    if kinds:
        train_known = known_attributes(model, train)["attributes"]
        test_known = known_attributes(model, test)["attributes"]
        report = attribute_report(
            model, kinds, (train.target, train_known), (test.target, test_known)
        )
        document["attributes"] = report
        table += "\n\nSalient attributes (supervised):\n\n" + markdown_table(
            report, ["rho_dim", "rho_other", "S", "C"]
        )
    return table
