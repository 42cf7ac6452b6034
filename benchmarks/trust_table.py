"""The trust table: on every benchmark, the paper's objective (the default), the earlier
default (the correction of both codes), the candidate that the label-free selection
chooses, each trained on the whole train split, and the untrained encoder (the floor),
probed and diagnosed on the test split, 3 seeds.

The selection of each seed is read from ``benchmarks/selection.py``'s results for that
dataset (``--selection DIR``, its ``seed<k>.json``), re-ranked with the library's current
criterion, so the chosen candidate is what ``sepclr select`` with the same seed would pick
and refit. Every run is written to ``<out>/runs/<candidate>-seed<k>.json`` (probes,
label-free diagnostics on the test split, settings) as soon as it is done and reused when
the command runs again; ``<out>/trust.md`` and ``.json`` hold the table (mean ± std over
seeds).

    python benchmarks/trust_table.py --dataset synthetic-tabular \\
        --selection benchmarks/results/selection/synthetic-tabular \\
        --out benchmarks/results/trust/synthetic-tabular
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

import sepclr
from sepclr.evaluation.diagnostics import label_free_diagnostics
from sepclr.evaluation.report import probe_columns, probe_row
from sepclr.selection import CANDIDATES, criterion

FLOOR = "untrained"  # the default's architecture at its initialisation (epochs=0)

ROWS = {
    "paper": "the paper's objective (default)",
    "corrected": "the earlier default",
    FLOOR: "untrained encoder (floor)",
}


def _pairs(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        name, _, text = item.partition("=")
        try:
            out[name] = json.loads(text)
        except json.JSONDecodeError:
            out[name] = text
    return out


def chosen_candidate(selection: Path, seed: int) -> str:
    """The best candidate of ``selection/seed<seed>.json`` by the current criterion."""
    rows = json.loads((selection / f"seed{seed}.json").read_text())["rows"]
    return str(max(rows, key=criterion)["name"])


def run(
    name: str, seed: int, args: argparse.Namespace, splits: tuple[Any, Any], out: Path
) -> dict[str, Any]:
    """Train candidate ``name`` on the train split and probe it on the test split, or read
    the result back."""
    path = out / "runs" / f"{name}-seed{seed}.json"
    if path.exists():
        result: dict[str, Any] = json.loads(path.read_text())
        return result
    train, test = splits
    candidate = next((c.params for c in CANDIDATES if c.name == name), {"epochs": 0})
    params = {"verbose": False, "device": "cpu", **_pairs(args.set), **candidate}
    model = sepclr.SepCLR(**params, seed=seed)
    start = time.perf_counter()
    model.fit(train.background, train.target)
    result = {
        "candidate": name,
        "seed": seed,
        "params": {**params, "seed": seed},
        "fit_seconds": time.perf_counter() - start,
        **probe_row(model, train, test),
        **label_free_diagnostics(
            model, (train.background, train.target), (test.background, test.target)
        ),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{name} seed {seed}: delta_TOT {result.get('delta_TOT', float('nan')):.1f}")
    return result


def _cell(mean: float, std: float, column: str) -> str:
    """Percentages with one decimal; AUCs, ratios and errors with three."""
    digits = 1 if column.startswith(("S_", "C_", "delta")) and "MAE" not in column else 3
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--selection", required=True, help="benchmarks/selection.py's --out")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--option", action="append", help="dataset option NAME=VALUE")
    parser.add_argument("--set", action="append", help="SepCLR parameter NAME=VALUE")
    args = parser.parse_args()
    out, selection = Path(args.out), Path(args.selection)
    options = _pairs(args.option)
    splits = tuple(
        sepclr.datasets.load(args.dataset, split=s, **options) for s in ("train", "test")
    )
    columns = [*probe_columns(splits[1]), "salient_auc", "background_ratio"]
    table: dict[str, dict[str, Any]] = {}
    for row in ("paper", "corrected", "selected", FLOOR):
        results = []
        for seed in range(args.seeds):
            name = chosen_candidate(selection, seed) if row == "selected" else row
            results.append(run(name, seed, args, splits, out))  # type: ignore[arg-type]
        table[row] = {
            "chosen": [r["candidate"] for r in results],
            **{c: float(np.mean([r[c] for r in results])) for c in columns},
            **{f"{c}_std": float(np.std([r[c] for r in results])) for c in columns},
        }
    command = (
        f"python benchmarks/trust_table.py --dataset {args.dataset} --selection "
        f"{args.selection} --out {args.out} --seeds {args.seeds}"
        + "".join(f" --option {o}" for o in args.option or [])
        + "".join(f" --set {o}" for o in args.set or [])
    )
    lines = [
        f"# {args.dataset}: default, earlier default, selected (test split, {args.seeds} seeds)",
        "",
        f"Command: `{command}`",
        "",
        "| row | " + " | ".join(columns) + " | chosen |",
        "|---|" + "---|" * (len(columns) + 1),
    ]
    for row, values in table.items():
        cells = [_cell(values[c], values[c + "_std"], c) for c in columns]
        label = ROWS.get(row, "selected without labels")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {', '.join(values['chosen'])} |")
    (out / "trust.md").write_text("\n".join(lines) + "\n")
    (out / "trust.json").write_text(json.dumps(table, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
