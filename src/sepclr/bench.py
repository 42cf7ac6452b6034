"""Benchmarks that train many models: ``sepclr bench``.

The independence ablation trains SepCLR once per independence term of the paper's Table 1
and per seed, with otherwise identical settings, and writes the Table 1 layout (mean ± std
over seeds, plus the untrained floor) as markdown, CSV and JSON. Each finished run is written
to ``DIR/runs/<variant>-seed<k>.json`` at once and reused when the command runs again, so a
killed benchmark resumes.
"""

import csv
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from sepclr.data.datasets import CADataset
from sepclr.evaluation.report import ideal_row, markdown_table, ordered_factors, probe_row
from sepclr.methods import SepCLR

# The poster's Table 1 order for the SepCLR rows.
INDEPENDENCE_ROWS = (
    "vclub-sym",
    "vclub-c2s",
    "vclub-s2c",
    "vl1out-sym",
    "vl1out-c2s",
    "vl1out-s2c",
    "vub-sym",
    "vub-c2s",
    "vub-s2c",
    "tc",
    "mmd",
    "none",
    "k-mi",
    "k-jem",
)
FLOOR = "untrained"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _run_once(
    variant: str, seed: int, params: dict[str, Any], train: CADataset, test: CADataset
) -> dict[str, Any]:
    settings = {**params, "seed": seed, "verbose": False}
    if variant == FLOOR:
        settings["epochs"] = 0
    else:
        settings["independence"] = variant
    start = time.perf_counter()
    model = SepCLR(**settings).fit(train.background, train.target)
    seconds = time.perf_counter() - start
    return {
        "variant": variant,
        "seed": seed,
        "params": model.get_params(),
        "fit_seconds": seconds,
        **probe_row(model, train, test),
    }


def independence_ablation(
    train: CADataset,
    test: CADataset,
    out: str | Path,
    seeds: int = 3,
    params: dict[str, Any] | None = None,
    variants: tuple[str, ...] = INDEPENDENCE_ROWS,
    log: Any = print,
    context: dict[str, Any] | None = None,
) -> dict[str, dict[str, float]]:
    """Run (or reuse) every variant x seed and write ``table.md``, ``table.csv`` and
    ``table.json`` into ``out``. ``params`` go to every SepCLR; ``context`` (e.g. the dataset
    and its size) is recorded in the tables. Returns the summary rows (mean and
    ``<column>_std``)."""
    out = Path(out)
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    params = dict(params or {})
    columns = [
        *(f"{space}_{f}" for f in ordered_factors(test.roles) for space in "SC"),
        "delta_TOT",
    ]
    summary: dict[str, dict[str, float]] = {}
    for variant in (*variants, FLOOR):
        results = []
        for seed in range(seeds):
            path = runs / f"{variant}-seed{seed}.json"
            if not path.exists():
                result = _run_once(variant, seed, params, train, test)
                _write_atomic(path, json.dumps(result, indent=2) + "\n")
                log(
                    f"{variant} seed {seed}: delta_TOT {result['delta_TOT']:.1f} "
                    f"({result['fit_seconds']:.0f} s)"
                )
            results.append(json.loads(path.read_text()))
        row: dict[str, float] = {}
        for column in [*columns, "fit_seconds"]:
            values = [r[column] for r in results]
            row[column] = float(np.mean(values))
            row[f"{column}_std"] = float(np.std(values))
        summary[variant] = row
    _write_tables(out, summary, columns, ideal_row(test), seeds, {**(context or {}), **params})
    return summary


def _label(variant: str) -> str:
    return "untrained encoder (floor)" if variant == FLOOR else f"SepCLR-{variant}"


def _write_tables(
    out: Path,
    summary: dict[str, dict[str, float]],
    columns: list[str],
    ideal: dict[str, float],
    seeds: int,
    params: dict[str, Any],
) -> None:
    shown = {
        _label(v): {c: f"{row[c]:.1f} ± {row[c + '_std']:.1f}" for c in columns}
        | {"fit s": f"{row['fit_seconds']:.0f}"}
        for v, row in summary.items()
    }
    shown["best expected"] = {c: f"{ideal[c]:.1f}" for c in columns}
    header = f"Mean ± std over {seeds} seed(s); settings: {json.dumps(params, sort_keys=True)}\n\n"
    _write_atomic(out / "table.md", header + markdown_table(shown, [*columns, "fit s"]) + "\n")
    with open(out / ".table.csv.tmp", "w", newline="") as handle:
        writer = csv.writer(handle)
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
    os.replace(out / ".table.csv.tmp", out / "table.csv")
    document = {"seeds": seeds, "settings": params, "rows": summary, "best_expected": ideal}
    _write_atomic(out / "table.json", json.dumps(document, indent=2) + "\n")
