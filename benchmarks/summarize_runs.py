"""Summarise every run file of one or more benchmark folders, whatever their rows.

``sepclr bench`` writes its table for the rows it was asked for; a folder filled by several
commands (``--only`` subsets) holds more. This prints, and writes as ``DIR/all-runs.md``, the
mean ± std over seeds of every probe column for every row found in ``DIR/runs/*.json``,
with its number of seeds (each run file records its full settings under ``params``).

    python benchmarks/summarize_runs.py benchmarks/results/salient/screen-tabular [...]
"""

import argparse
import json
from pathlib import Path

import numpy as np

from sepclr.evaluation.report import format_score

SKIP = {"variant", "method", "seed", "params", "fitted", "fit_seconds"}


def summarise(folder: Path) -> str:
    rows: dict[str, list[dict]] = {}
    for path in sorted((folder / "runs").glob("*.json")):
        run = json.loads(path.read_text())
        rows.setdefault(run["variant"], []).append(run)
    columns = [c for c in next(iter(rows.values()))[0] if c not in SKIP]
    lines = [
        "| row | seeds | " + " | ".join(columns) + " | fit s |",
        "|" + "---|" * (len(columns) + 3),
    ]
    for variant, runs in rows.items():
        cells = []
        for column in [*columns, "fit_seconds"]:
            values = np.array([r[column] for r in runs if column in r], dtype=float)
            mean, std = format_score(column, values.mean()), format_score(column, values.std())
            cells.append(f"{mean} ± {std}" if column != "fit_seconds" else f"{values.mean():.0f}")
        lines.append(f"| {variant} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    for folder in parser.parse_args().folders:
        table = summarise(folder)
        (folder / "all-runs.md").write_text(f"# {folder.name}: every run file\n\n{table}")
        print(f"## {folder}\n\n{table}")


if __name__ == "__main__":
    main()
