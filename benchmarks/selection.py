"""Validate the label-free selection where labels exist.

For each seed, ``sepclr.selection.select`` trains every candidate of
``sepclr.selection.CANDIDATES`` on the train split minus its held-out rows and scores it
with the label-free criterion on those rows; this script also probes each candidate on the
dataset's ``--split`` (validation while the criterion is designed, test to report) with
its labels. One JSON per seed (``<out>/seed<k>.json``, every candidate's criterion,
components, probes and settings) is written as soon as the seed is done and reused when
the command runs again; ``<out>/selection.md`` and ``.json`` hold, per seed, the Spearman
correlation between the criterion and minus delta_TOT, the chosen candidate's delta_TOT and
the best one's, and the table of the candidates (mean ± std over seeds).

    python benchmarks/selection.py --dataset synthetic-tabular --split validation \
        --out benchmarks/results/selection/synthetic-tabular-validation
"""

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

import sepclr
from sepclr.evaluation.report import probe_row
from sepclr.selection import CANDIDATES, criterion, select


def _options(text: list[str] | None) -> dict[str, Any]:
    pairs = (item.split("=", 1) for item in text or [])
    return {k: json.loads(v) if v[:1].isdigit() or v[:1] in "[{-" else v for k, v in pairs}


def run_seed(args: argparse.Namespace, seed: int, options: dict[str, Any]) -> dict[str, Any]:
    train = sepclr.datasets.load(args.dataset, split="train", **options)
    evaluation = sepclr.datasets.load(args.dataset, split=args.split, **options)
    params = {"device": "cpu", **_options(args.set)}
    found = select(
        train.background,
        train.target,
        candidates=args.candidates.split(",") if args.candidates else None,
        params=params,
        folds=args.folds,
        subjects=train.subjects,
        seed=seed,
        refit=False,
        log=print,
        evaluate=lambda model: probe_row(model, train, evaluation),
    )
    return {
        "seed": seed,
        "params": params,
        "options": options,
        "folds": found.folds,
        "rows": found.ranking,
    }


def summarise(results: list[dict[str, Any]], score: Any = criterion) -> dict[str, Any]:
    """Per seed: the Spearman correlation between ``score`` and minus delta_TOT, and the
    delta_TOT of the candidate ``score`` picks against the best candidate's."""
    seeds = []
    for result in results:
        rows = result["rows"]
        scores = np.array([score(r) for r in rows])
        delta = np.array([r["delta_TOT"] for r in rows])
        rho = float(spearmanr(scores, -delta).statistic)
        picked = int(np.argmax(scores))
        seeds.append(
            {
                "seed": result["seed"],
                "rho": rho,
                "chosen": rows[picked]["name"],
                "chosen_delta": float(delta[picked]),
                "best": rows[int(np.argmin(delta))]["name"],
                "best_delta": float(delta.min()),
                "gap": float(delta[picked] - delta.min()),
            }
        )
    return {"seeds": seeds}


def _table(results: list[dict[str, Any]], columns: list[str]) -> str:
    names = [c.name for c in CANDIDATES if any(r["name"] == c.name for r in results[0]["rows"])]
    lines = ["| candidate | criterion | " + " | ".join(columns) + " |"]
    lines.append("|---|---|" + "---|" * len(columns))
    for name in names:
        rows = [next(r for r in res["rows"] if r["name"] == name) for res in results]

        def cell(key: str, rows: list[dict[str, Any]] = rows) -> str:
            values = [r[key] for r in rows]
            return f"{np.mean(values):.2f} ± {np.std(values):.2f}"

        lines.append(f"| {name} | {cell('criterion')} | " + " | ".join(map(cell, columns)) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--split", default="validation", choices=["validation", "test"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", required=True)
    parser.add_argument("--option", action="append", help="dataset option NAME=VALUE")
    parser.add_argument("--set", action="append", help="SepCLR parameter NAME=VALUE")
    parser.add_argument("--candidates", help="comma-separated subset of the candidates")
    parser.add_argument("--folds", type=int, help="select's folds (default: its own rule)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    options = _options(args.option)
    results = []
    for seed in range(args.seeds):
        path = out / f"seed{seed}.json"
        if not path.exists():
            path.write_text(json.dumps(run_seed(args, seed, options), indent=2) + "\n")
        results.append(json.loads(path.read_text()))
    summary = summarise(results)
    columns = [k for k in results[0]["rows"][0] if k.startswith(("S_", "C_")) or k == "delta_TOT"]
    columns += ["salient_auc", "background_ratio", "r2_salient_from_common", "common_group_auc"]
    lines = [
        f"# Label-free selection on {args.dataset} ({args.split} split), {len(results)} seed(s)",
        "",
        f"Command: `python benchmarks/selection.py --dataset {args.dataset} --split "
        f"{args.split} --seeds {args.seeds} --out {args.out}`"
        + "".join(f" --option {o}" for o in args.option or [])
        + "".join(f" --set {o}" for o in args.set or [])
        + (f" --folds {args.folds}" if args.folds else ""),
        "",
        "| seed | Spearman rho (criterion, -delta_TOT) | chosen | its delta_TOT | best | "
        "best delta_TOT | gap |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in summary["seeds"]:
        lines.append(
            f"| {s['seed']} | {s['rho']:.2f} | {s['chosen']} | {s['chosen_delta']:.1f} | "
            f"{s['best']} | {s['best_delta']:.1f} | {s['gap']:.1f} |"
        )
    lines += ["", _table(results, columns), ""]
    (out / "selection.md").write_text("\n".join(lines))
    (out / "selection.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
