"""What screening saves in ``sepclr select`` on small real tables, and what it changes.

For each dataset and seed, ``sepclr.run.select`` (the code behind ``sepclr select``, with
its defaults: 3 folds on small data, 30 epochs) runs twice on the train split: screening
(``--screen 4``, the default: every candidate on the first fold, the best 4 on the other
two) and a full cross-validation (every candidate on every fold). Per run: the wall-clock
seconds, the chosen candidate, and the rank of the screened choice in the full ranking.
``<out>/select_cost.json`` and ``.md`` hold them, with the means and standard deviations.

The data are real and small: the wine table of scikit-learn (178 rows; cultivar 1 as the
background, cultivars 2 and 3 as the target, the cultivar a factor, not a feature) read as
the user's CSV by ``table-study``, and ``breast-cancer-enlarged`` at its default size.

    python benchmarks/select_cost.py --out benchmarks/results/select_cost
"""

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_wine

from sepclr import run as runs
from sepclr.selection import CANDIDATES

MODES = {"screen-4": 4, "full": len(CANDIDATES)}


def wine_table(folder: Path) -> Path:
    """The wine table as a user's CSV, groups named in a ``group`` column."""
    frame = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    frame["group"] = np.where(frame["cultivar"] == 0, "control", "treated")
    frame.to_csv(folder / "wine.csv", index=False)
    return folder / "wine.csv"


def one_run(dataset: str, options: dict[str, Any], seed: int, screen: int) -> dict[str, Any]:
    settings = runs.settings(dataset, params={"seed": seed}, dataset_options=options)
    quiet = runs.Options(verbose=False, evaluate=False)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        found = runs.select(settings, Path(folder) / "run", quiet, screen=screen)
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "chosen": found.chosen,
        "ranking": [row["name"] for row in found.ranking],
    }


def summary(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| dataset | seed | full s | screen-4 s | full choice | screen-4 choice | its full rank |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        full, screened = row["full"], row["screen-4"]
        rank = full["ranking"].index(screened["chosen"]) + 1
        lines.append(
            f"| {row['dataset']} | {row['seed']} | {full['seconds']:.0f} "
            f"| {screened['seconds']:.0f} | {full['chosen']} | {screened['chosen']} | {rank} |"
        )
    lines += ["", "| dataset | full s | screen-4 s | same choice |", "|---|---|---|---|"]
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        mine = [row for row in rows if row["dataset"] == dataset]
        cells = []
        for mode in ("full", "screen-4"):
            seconds = np.array([row[mode]["seconds"] for row in mine])
            cells.append(f"{seconds.mean():.0f} ± {seconds.std():.0f}")
        same = sum(row["full"]["chosen"] == row["screen-4"]["chosen"] for row in mine)
        lines.append(f"| {dataset} | {cells[0]} | {cells[1]} | {same} of {len(mine)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        datasets = {
            "wine (table-study)": (
                "table-study",
                {"table": str(wine_table(Path(folder))), "factors": ["cultivar"]},
            ),
            "breast-cancer-enlarged": ("breast-cancer-enlarged", {}),
        }
        for label, (dataset, options) in datasets.items():
            for seed in (int(s) for s in args.seeds.split(",")):
                row: dict[str, Any] = {"dataset": label, "seed": seed}
                for mode, screen in MODES.items():
                    row[mode] = one_run(dataset, options, seed, screen)
                    print(label, seed, mode, f"{row[mode]['seconds']:.0f} s", row[mode]["chosen"])
                rows.append(row)
    (args.out / "select_cost.json").write_text(json.dumps(rows, indent=1) + "\n")
    (args.out / "select_cost.md").write_text(summary(rows) + "\n")
    print(summary(rows))


if __name__ == "__main__":
    main()
