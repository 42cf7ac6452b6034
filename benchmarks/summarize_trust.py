"""One table of the trust study: every benchmark's default, earlier default and selected
rows (from ``benchmarks/trust_table.py``), and the validation of the label-free criterion
(from ``benchmarks/selection.py``), read from their run files.

    python benchmarks/summarize_trust.py

writes ``benchmarks/results/trust/summary.md``. A dataset with several folds
(``mice-protein-fold0`` ... ``fold2``) is pooled: its cells are mean ± std over every fold
and seed.
"""

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from sepclr.selection import criterion

RESULTS = Path(__file__).parent / "results"
ROWS = {
    "paper": "paper objective = new default",
    "corrected": "old default (correction)",
    "selected": "selected without labels",
    "untrained": "untrained encoder (floor)",
}
SALIENT = {
    "synthetic-tabular": "S_salient",
    "synthetic-brain-small": "S_group",
    "digits-on-fashion-small": "S_digit",
    "breast-cancer-enlarged": "S_enlarged",
    "mice-protein": "S_genotype",
}


def _dataset(folder: Path) -> str:
    return re.sub(r"-fold\d+$", "", folder.name)


def trust_rows() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per dataset and row, the run files of every seed (and fold)."""
    found: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for folder in sorted((RESULTS / "trust").iterdir()):
        table = folder / "trust.json"
        if not table.is_file():
            continue
        chosen = json.loads(table.read_text())
        for row in ROWS:
            names = chosen[row]["chosen"]
            for seed, name in enumerate(names):
                run = folder / "runs" / f"{name}-seed{seed}.json"
                found[_dataset(folder)][row].append(json.loads(run.read_text()))
    return found


def validation() -> dict[str, list[dict[str, float]]]:
    """Per dataset, per seed (and fold): Spearman rho between the criterion and minus
    delta_TOT on the test split, and the chosen candidate's gap to the best."""
    found: dict[str, list[dict[str, float]]] = defaultdict(list)
    for folder in sorted((RESULTS / "selection").iterdir()):
        for path in sorted(folder.glob("seed*.json")):
            rows = json.loads(path.read_text())["rows"]
            scores = np.array([criterion(r) for r in rows])
            delta = np.array([r["probes"]["test"]["delta_TOT"] for r in rows])
            found[_dataset(folder)].append(
                {
                    "rho": float(spearmanr(scores, -delta).statistic),
                    "gap": float(delta[int(np.argmax(scores))] - delta.min()),
                    "candidates": len(rows),
                }
            )
    return found


def _cell(values: list[float], digits: int = 1) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def main() -> None:
    rows, checks = trust_rows(), validation()
    lines = [
        "# The trust study: test split, mean ± std over seeds (mice-protein: 3 folds x 3 seeds)",
        "",
        "| benchmark | row | delta_TOT | salient factor in S | salient_auc | background_ratio "
        "| chosen |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset, by_row in rows.items():
        salient = SALIENT.get(dataset, "")
        for row, label in ROWS.items():
            runs = by_row[row]
            chosen = sorted({r["candidate"] for r in runs}) if row == "selected" else []
            cells = [
                _cell([r["delta_TOT"] for r in runs]),
                _cell([r[salient] for r in runs]) if salient else "",
                _cell([r["salient_auc"] for r in runs], 3),
                _cell([r["background_ratio"] for r in runs], 3),
                ", ".join(chosen),
            ]
            lines.append(f"| {dataset} | {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## The label-free criterion against delta_TOT (test split)",
        "",
        "| benchmark | candidates | seeds x folds | Spearman rho | gap of the chosen to the best |",
        "|---|---|---|---|---|",
    ]
    for dataset, seeds in checks.items():
        rho, gap = [s["rho"] for s in seeds], [s["gap"] for s in seeds]
        lines.append(
            f"| {dataset} | {int(seeds[0]['candidates'])} | {len(seeds)} | {_cell(rho, 2)} "
            f"| {_cell(gap)} |"
        )
    out = RESULTS / "trust" / "summary.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
