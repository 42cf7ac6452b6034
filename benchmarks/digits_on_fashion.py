"""The longer digits-on-fashion benchmark: SepCLR with the library defaults, several seeds.

Each seed's result goes to ``benchmarks/results/digits_on_fashion/<label>-seed<k>.json`` as soon
as it finishes (existing files are skipped, so the script resumes); the summary table with
mean and standard deviation goes to ``benchmarks/results/digits_on_fashion.md`` and ``.json``.

    python benchmarks/digits_on_fashion.py [--epochs 60] [--seeds 3] [--size default]
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

import sepclr
from sepclr.evaluation import ideal_row, markdown_table, probe_row

RESULTS = Path(__file__).parent / "results"
COLUMNS = ["S_digit", "C_digit", "S_object", "C_object", "delta_TOT"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--size", default="default")
    args = parser.parse_args()
    folder = RESULTS / "digits_on_fashion"
    folder.mkdir(parents=True, exist_ok=True)
    train = sepclr.datasets.load("digits-on-fashion", size=args.size)
    test = sepclr.datasets.load("digits-on-fashion", split="test", size=args.size)

    runs = {"SepCLR (k-JEM, defaults)": args.epochs, "untrained encoder (floor)": 0}
    summary: dict[str, dict[str, float]] = {}
    for label, epochs in runs.items():
        rows = []
        for seed in range(args.seeds):
            slug = "floor" if epochs == 0 else f"sepclr-{args.size}-{epochs}ep"
            path = folder / f"{slug}-seed{seed}.json"
            if not path.exists():
                start = time.perf_counter()
                model = sepclr.SepCLR(epochs=epochs, seed=seed, verbose=False)
                model.fit(train.background, train.target)
                seconds = time.perf_counter() - start
                row = {**probe_row(model, train, test), "fit_seconds": seconds}
                path.write_text(json.dumps({"params": model.get_params(), **row}, indent=2))
                print(label, seed, {k: round(row[k], 1) for k in COLUMNS}, flush=True)
            rows.append(json.loads(path.read_text()))
        summary[label] = {c: float(np.mean([r[c] for r in rows])) for c in COLUMNS}
        summary[label] |= {f"{c}_std": float(np.std([r[c] for r in rows])) for c in COLUMNS}
        summary[label]["fit_seconds"] = float(np.mean([r["fit_seconds"] for r in rows]))
    summary["best expected"] = ideal_row(test)

    table_rows = {
        name: {c: f"{row[c]:.1f} ± {row.get(c + '_std', 0.0):.1f}" for c in COLUMNS}
        for name, row in summary.items()
    }
    table = markdown_table(table_rows, COLUMNS)
    header = (
        f"# digits-on-fashion ({args.size}), {args.epochs} epochs, {args.seeds} seeds "
        f"(mean ± std)\n\nCommand: `python benchmarks/digits_on_fashion.py --epochs "
        f"{args.epochs} --seeds {args.seeds} --size {args.size}`\n\n"
    )
    (RESULTS / "digits_on_fashion.md").write_text(header + table + "\n")
    (RESULTS / "digits_on_fashion.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(table)


if __name__ == "__main__":
    main()
