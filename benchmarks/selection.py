"""Validate the label-free selection where labels exist.

For each seed, ``sepclr.selection.select`` trains every candidate of
``sepclr.recipes.CANDIDATES`` once per fold on the train split minus the fold and scores
it with the label-free criterion on the fold's rows; this script also probes each
candidate's first-fold model, with the labels, on each of the dataset's ``--splits``
(validation to design the criterion, test to report it). One JSON per seed
(``<out>/seed<k>.json``: every candidate's criterion, components, probes per split and
settings) is written as soon as the seed is done and reused when the command runs again.
``<out>/selection-<split>.md`` and ``.json`` hold, per seed, the Spearman correlation
between the criterion and minus delta_TOT on that split, the chosen candidate's delta_TOT
and the best one's, and the table of the candidates (mean ± std over seeds).

    python benchmarks/selection.py --dataset synthetic-tabular --splits validation,test \
        --out benchmarks/results/selection/synthetic-tabular
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
    splits = {
        split: sepclr.datasets.load(args.dataset, split=split, **options)
        for split in args.splits.split(",")
    }
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
        screen=None,  # every candidate on every fold: the criterion is what is validated
        evaluate=lambda model: {
            "probes": {name: probe_row(model, train, data) for name, data in splits.items()}
        },
    )
    return {
        "seed": seed,
        "params": params,
        "options": options,
        "folds": found.folds,
        "rows": found.ranking,
    }


def summarise(results: list[dict[str, Any]], split: str, score: Any = criterion) -> dict[str, Any]:
    """Per seed: the Spearman correlation between ``score`` and minus delta_TOT on
    ``split``, and the delta_TOT of the candidate ``score`` picks against the best one's."""
    seeds = []
    for result in results:
        rows = result["rows"]
        scores = np.array([score(r) for r in rows])
        delta = np.array([r["probes"][split]["delta_TOT"] for r in rows])
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


def _value(row: dict[str, Any], key: str, split: str) -> float:
    return float(row["probes"][split][key] if key in row["probes"][split] else row[key])


def _table(results: list[dict[str, Any]], columns: list[str], split: str) -> str:
    names = [c.name for c in CANDIDATES if any(r["name"] == c.name for r in results[0]["rows"])]
    lines = ["| candidate | criterion | " + " | ".join(columns) + " |"]
    lines.append("|---|---|" + "---|" * len(columns))
    for name in names:
        rows = [next(r for r in res["rows"] if r["name"] == name) for res in results]

        def cell(key: str, rows: list[dict[str, Any]] = rows) -> str:
            values = [_value(r, key, split) for r in rows]
            return f"{np.mean(values):.2f} ± {np.std(values):.2f}"

        lines.append(f"| {name} | {cell('criterion')} | " + " | ".join(map(cell, columns)) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--splits", default="validation,test", help="where to probe")
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
    for split in args.splits.split(","):
        write_summary(args, results, split)


def write_summary(args: argparse.Namespace, results: list[dict[str, Any]], split: str) -> None:
    """``selection-<split>.md`` and ``.json`` in ``--out``."""
    out = Path(args.out)
    summary = summarise(results, split)
    probes = results[0]["rows"][0]["probes"][split]
    columns = [k for k in probes if k.startswith(("S_", "C_")) or k == "delta_TOT"]
    columns += ["salient_auc", "background_ratio", "r2_salient_from_common", "common_group_auc"]
    command = " ".join(
        [
            f"python benchmarks/selection.py --dataset {args.dataset} --splits {args.splits}",
            f"--seeds {args.seeds} --out {args.out}",
            *(f"--option {o}" for o in args.option or []),
            *(f"--set {o}" for o in args.set or []),
            *([f"--folds {args.folds}"] if args.folds else []),
            *([f"--candidates {args.candidates}"] if args.candidates else []),
        ]
    )
    lines = [
        f"# Label-free selection on {args.dataset}, probes on the {split} split, "
        f"{len(results)} seed(s)",
        "",
        f"Command: `{command}`",
        "",
        "| seed | folds | Spearman rho (criterion, -delta_TOT) | chosen | its delta_TOT | best | "
        "best delta_TOT | gap |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s, result in zip(summary["seeds"], results, strict=True):
        lines.append(
            f"| {s['seed']} | {result['folds']} | {s['rho']:.2f} | {s['chosen']} | "
            f"{s['chosen_delta']:.1f} | {s['best']} | {s['best_delta']:.1f} | {s['gap']:.1f} |"
        )
    lines += ["", _table(results, columns, split), ""]
    (out / f"selection-{split}.md").write_text("\n".join(lines))
    (out / f"selection-{split}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
