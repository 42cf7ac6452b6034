"""Benchmarks that train many models: ``sepclr bench``.

A benchmark is a list of rows (variants) x seeds. Each row is a method with fixed settings:
a SepCLR independence term (the paper's Table 1 SepCLR rows), a baseline (cPCA, CVAE,
ConVAE, MM-cVAE, SepVAE), or the untrained SepCLR encoder (the floor). Every finished run is
written to ``DIR/runs/<variant>-seed<k>.json`` at once and reused when the command runs
again with the same settings, so a killed benchmark resumes; a run file made with other
settings stops the benchmark with an error instead of mixing settings in one table. VAE runs
on images also write ``DIR/runs/<variant>-seed<k>.png``, a grid of reconstructions. The
table (mean ± std over seeds, with the wall time of each fit) is written as
``DIR/<name>.md``, ``.csv`` and ``.json``.
"""

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from sepclr.data.catalog import CADataset
from sepclr.data.download import load_or_fetch
from sepclr.engine.files import write_text
from sepclr.errors import SepCLRError
from sepclr.evaluation.leaks import covariate_leaks
from sepclr.evaluation.report import (
    format_score,
    ideal_row,
    markdown_table,
    probe_columns,
    probe_row,
    table3_layout,
)
from sepclr.evaluation.run_report import fit_inputs
from sepclr.methods import ContrastiveEstimator, SepCLR
from sepclr.recipes import SALIENT_ABLATION
from sepclr.registry import DATASETS, METHODS, TERMS

# The paper's Table 1 rows: each independence term (not its short aliases), in the order
# the terms register themselves; then the baselines.
INDEPENDENCE_ROWS = tuple(name for name, term in TERMS.items() if term.alias_of is None)
ABLATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "independence": {
        # without a term its weight changes nothing, and SepCLR refuses a weight set for it
        term: {"independence": term}
        | ({"independence_weight": SepCLR.independence_weight.default} if term == "none" else {})
        for term in INDEPENDENCE_ROWS
    },
    "salient": {recipe.name: recipe.params for recipe in SALIENT_ABLATION},
}
FLOOR = "untrained"
_OFF = (0, False, None, "none")
# Parameters removed from the library because they changed nothing; ignored in older runs.
_REMOVED_WITHOUT_EFFECT = ("background_salient_variance",)


def baselines() -> dict[str, type[ContrastiveEstimator]]:
    """Every registered method but SepCLR, by name (a method registered later included)."""
    return {m.name: m.cls for m in METHODS.values() if m.baseline}


def method_rows(spec: str) -> tuple[str, ...]:
    """The variants named by a ``--methods`` list: ``all`` (every baseline and every SepCLR
    row), ``baselines``, a baseline name, ``sepclr`` (the k-JEM row) or ``sepclr-<term>``.
    """
    named = baselines()
    rows: list[str] = []
    for token in (t.strip().lower() for t in spec.split(",") if t.strip()):
        if token == "all":
            rows += [*named, *INDEPENDENCE_ROWS]
        elif token == "baselines":
            rows += list(named)
        elif token in named:
            rows.append(token)
        elif token == "sepclr":
            rows.append("k-jem")
        elif token.startswith("sepclr-") and token[len("sepclr-") :] in INDEPENDENCE_ROWS:
            rows.append(token[len("sepclr-") :])
        else:
            choices = ["all", "baselines", *named, "sepclr"]
            choices += [f"sepclr-{t}" for t in INDEPENDENCE_ROWS]
            raise SepCLRError(f"unknown method {token!r}; choose from {', '.join(choices)}")
    if not rows:
        raise SepCLRError("--methods names no method")
    return tuple(dict.fromkeys(rows))


def build_model(variant: str, seed: int, params: dict[str, Any]) -> ContrastiveEstimator:
    """The unfitted model of one row. ``params`` are settings given by the user: each goes
    to every method that has a parameter of that name (SepCLR's other parameters keep their
    defaults; so do the baselines').
    """
    if variant == FLOOR:
        return SepCLR(**{**params, "seed": seed}).untrained()
    for rows in ABLATIONS.values():
        if variant in rows:
            return SepCLR(**{**params, **rows[variant], "seed": seed, "verbose": False})
    if variant in baselines():
        cls = baselines()[variant]
        accepted = cls().get_params()
        settings = {k: v for k, v in params.items() if k in accepted}
        settings |= {"seed": seed} | ({"verbose": False} if cls.trains_by_epochs else {})
        return cls(**settings)
    raise SepCLRError(f"unknown benchmark row {variant!r}")


def _json_params(model: ContrastiveEstimator) -> dict[str, Any]:
    params: dict[str, Any] = json.loads(json.dumps(model.get_params()))
    return params


def leak_columns(test: CADataset, covariates: list[str]) -> list[str]:
    """The columns of the held-out R^2 of each continuous covariate from each code."""
    continuous = [
        name
        for name in covariates
        if np.issubdtype(np.asarray(test.factors[name]).dtype, np.floating)
    ]
    return [f"{code}_{name}_R2" for name in continuous for code in ("S", "C")]


def _run_once(
    model: ContrastiveEstimator,
    variant: str,
    seed: int,
    data: tuple[CADataset, CADataset, list[str]],
) -> dict[str, Any]:
    train, test, covariates = data
    start = time.perf_counter()
    model.fit(train.background, train.target, **fit_inputs(model, train, covariates))
    seconds = time.perf_counter() - start
    result = {
        "variant": variant,
        "method": type(model).__name__,
        "seed": seed,
        "params": _json_params(model),
        "covariates": covariates,
        "fit_seconds": seconds,
        **probe_row(model, train, test),
        "fitted": model.fit_summary(),
    }
    if covariates:
        leaks = covariate_leaks(model, train, test, covariates)
        result["covariate_leaks"] = leaks
        result |= {
            f"{code}_{name}_R2": leak[code]
            for name, leak in leaks.items()
            if leak["kind"] == "continuous"
            for code in ("S", "C")
        }
    return result


def _result(
    variant: str,
    seed: int,
    params: dict[str, Any],
    data: tuple[CADataset, CADataset, list[str]],
    runs: Path,
    log: Any,
) -> dict[str, Any]:
    """Run one variant and seed, or read it back when it already ran with these settings."""
    test, covariates = data[1:]
    path = runs / f"{variant}-seed{seed}.json"
    model = build_model(variant, seed, params)
    if path.exists():
        result: dict[str, Any] = json.loads(path.read_text())
        # A parameter added to the library after the run was written counts as its default;
        # one removed since counts as absent when it was off (0, False, None or "none").
        defaults = _json_params(type(model)())
        recorded = [
            (k, v) for k, v in result.get("params", {}).items() if k not in _REMOVED_WITHOUT_EFFECT
        ]
        stored = defaults | {k: v for k, v in recorded if k in defaults or v not in _OFF}
        if stored != _json_params(model) or result.get("covariates", []) != covariates:
            raise SepCLRError(
                f"{path} was made with other settings than this benchmark's; use another "
                "--out directory, or delete that file to run it again"
            )
        return result
    result = _run_once(model, variant, seed, data)
    write_text(path, json.dumps(result, indent=2) + "\n")
    if model.reconstructs and test.target.ndim == 4:
        from sepclr.evaluation.plots import plot_reconstructions  # matplotlib

        title = f"{_label(variant)} seed {seed}, {test.name} {test.split} samples"
        plot_reconstructions(model, test, runs / f"{variant}-seed{seed}.png", title=title)
    log(
        f"{variant} seed {seed}: delta_TOT {result.get('delta_TOT', float('nan')):.1f} "
        f"({result['fit_seconds']:.0f} s)"
    )
    return result


def bench(
    dataset: str,
    out: str | Path,
    *,
    ablation: str | None = None,
    methods: str | None = None,
    only: str | None = None,
    seeds: int = 3,
    split: str = "test",
    size: str | None = None,
    params: dict[str, Any] | None = None,
    data_dir: str | None = None,
    download: bool = True,
    covariates: list[str] | None = None,
) -> Path:
    """``sepclr bench``: the rows of an ablation (``only`` a comma-separated subset of them)
    or of a ``methods`` list (:func:`method_rows`) on ``dataset`` (its first size unless
    ``size`` is given), scored on ``split``; returns the Markdown table written in ``out``.

    Parameters
    ----------
    dataset : str
        The dataset.
    out : str or Path
        The benchmark folder (a benchmark run again there resumes).
    ablation : str, optional
        A key of :data:`ABLATIONS`.
    methods : str, optional
        A ``--methods`` list, instead of an ablation.
    only : str, optional
        The ablation rows to run.
    seeds : int
        Seeds per row.
    split : {"test", "validation"}
        The split the probes are scored on.
    size : str, optional
        The dataset's size.
    params : dict, optional
        Settings given to every method that has them.
    data_dir : str, optional
        Searched first for the files.
    download : bool
        Download missing public files.
    covariates : list of str, optional
        Common factors of the dataset every method is fitted with as covariates.

    Returns
    -------
    Path
        The Markdown table.
    """
    _check_seeds(seeds)
    if methods is not None and only:
        raise SepCLRError("--only selects ablation variants; with --methods, list the methods")
    if methods is not None:
        variants, name = method_rows(methods), "methods"
    elif ablation in ABLATIONS:
        rows = tuple(ABLATIONS[ablation])
        variants = tuple(only.split(",")) if only else rows
        unknown = [v for v in variants if v not in rows]
        if unknown:
            raise SepCLRError(f"unknown variant(s) {unknown}; choose from {', '.join(rows)}")
        name = ablation
    else:
        raise SepCLRError(f"a benchmark needs methods or an ablation ({', '.join(ABLATIONS)})")
    sizes = DATASETS[dataset].sizes if dataset in DATASETS else ()
    size = size or (sizes[0] if sizes else None)
    options: dict[str, Any] = {} if size is None else {"size": size}
    train = load_or_fetch(dataset, data_dir, "train", options, download)
    test = load_or_fetch(dataset, data_dir, split, options, download)
    context = {"dataset": dataset, **options} | ({} if split == "test" else {"split": split})
    if covariates:
        context["covariates"] = list(covariates)
    run_table(
        train,
        test,
        out,
        variants,
        name,
        seeds=seeds,
        params=params,
        context=context,
        covariates=covariates,
    )
    return Path(out) / f"{name}.md"


def _check_seeds(seeds: int) -> None:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise SepCLRError(f"--seeds is a number of seeds per row, at least 1; got {seeds!r}")


def run_table(
    train: CADataset,
    test: CADataset,
    out: str | Path,
    variants: tuple[str, ...],
    name: str,
    seeds: int = 3,
    params: dict[str, Any] | None = None,
    log: Any = print,
    context: dict[str, Any] | None = None,
    covariates: list[str] | None = None,
) -> dict[str, dict[str, float]]:
    """Run (or reuse) every variant x seed, plus the untrained floor, and write
    ``<name>.md``, ``<name>.csv`` and ``<name>.json`` into ``out``. ``params`` are SepCLR
    settings (see :func:`build_model`); ``context`` (e.g. the dataset and its size) is
    recorded in the tables. Returns the summary rows (mean and ``<column>_std``).
    """
    _check_seeds(seeds)
    out = Path(out)
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    params = dict(params or {})
    covariates = list(covariates or [])
    columns = probe_columns(test) + leak_columns(test, covariates)
    summary: dict[str, dict[str, float]] = {}
    for variant in (*variants, FLOOR):
        results = [
            _result(variant, seed, params, (train, test, covariates), runs, log)
            for seed in range(seeds)
        ]
        row: dict[str, float] = {}
        for column in [*columns, "fit_seconds"]:
            values = [r[column] for r in results]
            row[column] = float(np.mean(values))
            row[f"{column}_std"] = float(np.std(values))
        summary[variant] = row
    settings = {**(context or {}), **params}
    _write_tables(out / name, summary, columns, ideal_row(test), seeds, settings)
    if "S_group" in columns:  # a diagnosis column: also the poster's Table 3 layout
        layout = table3_layout(summary, test, _label)
        write_text(out / f"{name}_table3.md", layout + "\n")
    return summary


def _label(variant: str) -> str:
    if variant == FLOOR:
        return "untrained encoder (floor)"
    return METHODS[variant].label if variant in baselines() else f"SepCLR-{variant}"


def _write_tables(
    stem: Path,
    summary: dict[str, dict[str, float]],
    columns: list[str],
    ideal: dict[str, float],
    seeds: int,
    settings: dict[str, Any],
) -> None:
    shown = {
        _label(v): {
            c: f"{format_score(c, row[c])} ± {format_score(c, row[c + '_std'])}" for c in columns
        }
        | {"fit s": f"{row['fit_seconds']:.0f}"}
        for v, row in summary.items()
    }
    shown["best expected"] = {c: format_score(c, ideal[c]) for c in columns if c in ideal}
    header = (
        f"Mean ± std over {seeds} seed(s); SepCLR settings: "
        f"{json.dumps(settings, sort_keys=True)}\n\n"
    )
    table = markdown_table(shown, [*columns, "fit s"])
    write_text(stem.with_suffix(".md"), header + table + "\n")
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["variant", *columns, *(f"{c}_std" for c in columns), "fit_seconds"])
    for variant, row in summary.items():
        writer.writerow(
            [
                variant,
                *(f"{row[c]:.2f}" for c in columns),
                *(f"{row[c + '_std']:.2f}" for c in columns),
                f"{row['fit_seconds']:.1f}",
            ]
        )
    write_text(stem.with_suffix(".csv"), rows.getvalue())
    document = {"seeds": seeds, "settings": settings, "rows": summary, "best_expected": ideal}
    write_text(stem.with_suffix(".json"), json.dumps(document, indent=2) + "\n")
