"""How the label-free criterion of ``sepclr.selection.criterion`` was chosen.

Seven combinations of the components that ``sepclr.selection.selection_components``
measures were compared on the **validation** splits of the four benchmarks that have one
(``benchmarks/selection.py`` results; the test splits and mice-protein were kept for the
report). The rule, fixed before the comparison: keep the combination whose lowest mean
Spearman correlation with minus delta_TOT, over the benchmarks, is highest.

    python benchmarks/criterion_choice.py

writes ``benchmarks/results/selection/criterion.md``.
"""

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from sepclr.selection import criterion

RESULTS = Path(__file__).parent / "results" / "selection"
BENCHMARKS = (
    "breast-cancer-enlarged",
    "synthetic-tabular",
    "digits-on-fashion-small",
    "synthetic-brain-small",
)
Row = dict[str, float]


def _separation(r: Row) -> float:
    return 2.0 * (r["salient_auc"] - 0.5)


def _group(r: Row) -> float:
    return 2.0 * abs(r["common_group_auc"] - 0.5)


def _sc(r: Row) -> float:
    return max(r["r2_salient_from_common"], 0.0)


def _cs(r: Row) -> float:
    return max(r["r2_common_from_salient"], 0.0)


FORMULAS: dict[str, Callable[[Row], float]] = {
    "sep - group - r2_sc": lambda r: _separation(r) - _group(r) - _sc(r),
    "sep - group - r2_sc - r2_cs": lambda r: _separation(r) - _group(r) - _sc(r) - _cs(r),
    "sep + explained_by_salient - group - r2_sc - r2_cs": lambda r: (
        _separation(r) + r["explained_by_salient"] - _group(r) - _sc(r) - _cs(r)
    ),
    "explained_by_salient - group - r2_sc - r2_cs": lambda r: (
        r["explained_by_salient"] - _group(r) - _sc(r) - _cs(r)
    ),
    "- group - r2_sc - r2_cs": lambda r: -_group(r) - _sc(r) - _cs(r),
    "- group - r2_cs": lambda r: -_group(r) - _cs(r),
    "sep - group - max(r2_sc, r2_cs)": lambda r: _separation(r) - _group(r) - max(_sc(r), _cs(r)),
}


def mean_rho(benchmark: str, score: Callable[[Row], float]) -> float:
    """The mean over seeds of the Spearman correlation between ``score`` and minus the
    validation delta_TOT of the candidates."""
    rhos = []
    for path in sorted((RESULTS / benchmark).glob("seed*.json")):
        rows = json.loads(path.read_text())["rows"]
        delta = [r["probes"]["validation"]["delta_TOT"] for r in rows]
        rhos.append(spearmanr([score(r) for r in rows], -np.array(delta)).statistic)
    return float(np.mean(rhos))


def main() -> None:
    lines = [
        "# Choosing the label-free criterion (validation splits)",
        "",
        "`python benchmarks/criterion_choice.py`. Cells: mean over 3 seeds of the Spearman "
        "correlation between the combination and minus delta_TOT over the candidates; "
        "`group` is 2 abs(common_group_auc - 0.5), `sep` 2 (salient_auc - 0.5), `r2_sc` "
        "r2_salient_from_common and `r2_cs` r2_common_from_salient, each clipped at 0.",
        "",
        "| combination | " + " | ".join(BENCHMARKS) + " | lowest |",
        "|---|" + "---|" * (len(BENCHMARKS) + 1),
    ]
    lowest = {}
    for name, score in FORMULAS.items():
        values = [mean_rho(b, score) for b in BENCHMARKS]
        lowest[name] = min(values)
        cells = " | ".join(f"{v:.2f}" for v in values)
        lines.append(f"| {name} | {cells} | {min(values):.2f} |")
    chosen = max(lowest, key=lambda n: lowest[n])
    sample = json.loads((RESULTS / BENCHMARKS[0] / "seed0.json").read_text())["rows"][0]
    assert abs(FORMULAS[chosen](sample) - criterion(sample)) < 1e-12, "library differs"
    lines += ["", f"Chosen, and in `sepclr.selection.criterion`: **{chosen}**.", ""]
    (RESULTS / "criterion.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
