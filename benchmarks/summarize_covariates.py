"""The one table of the covariates study: on each benchmark, the salient factor and every
named covariate read from each code, for each method with and without covariates and the
post-hoc baseline. It reads the ``covariates.json`` that ``benchmarks/covariates.py`` wrote.

    python benchmarks/summarize_covariates.py benchmarks/results/covariates
"""

import argparse
import json
from pathlib import Path

from sepclr.engine.files import write_text

SALIENT = {"synthetic-tabular": "salient", "synthetic-brain": "group", "digits-on-fashion": "digit"}


def _cell(row: dict, key: str, digits: int = 1) -> str:
    return f"{row[key]:.{digits}f} ± {row[key + '_std']:.{digits}f}"


def _reads(row: dict, code: str, covariates: list[str]) -> str:
    cells = []
    for name in covariates:
        if f"{code}_{name}_R2" in row:
            cells.append(f"{name} R² {_cell(row, f'{code}_{name}_R2', 2)}")
        else:
            cells.append(f"{name} {_cell(row, f'{code}_{name}')}")
    return "; ".join(cells)


def summary(folder: Path) -> str:
    """The markdown table of every ``covariates.json`` under ``folder``."""
    lines = []
    for path in sorted(folder.glob("*/covariates.json")):
        result = json.loads(path.read_text())
        dataset, covariates = result["settings"]["dataset"], result["settings"]["covariates"]
        factor = SALIENT[dataset]
        for name, row in result["rows"].items():
            lines.append(
                [
                    dataset,
                    name,
                    f"{factor} {_cell(row, f'S_{factor}')}",
                    _reads(row, "S", covariates),
                    _reads(row, "C", covariates),
                ]
            )
    header = ["benchmark", "row", "salient factor in S", "covariates in S", "covariates in C"]
    table = [header, ["---"] * len(header), *lines]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in table) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    folder = parser.parse_args().folder
    write_text(folder / "summary.md", summary(folder))
    print(summary(folder))


if __name__ == "__main__":
    main()
