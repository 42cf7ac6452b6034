"""Single cells: the planted interferon benchmark (``pbmc-interferon``) read as a single-cell
study reads it. Each row is fitted on the train split and scored on ``--split``
(``validation`` to choose, ``test`` to report), over ``--seeds`` seeds.

Columns: ``transfer``, a cell-type probe fitted on the train backgrounds' common codes and
scored on the split's targets' common codes (balanced accuracy, %); ``condition_auc``, the
common code telling targets from backgrounds (held-out AUC, 0.5 ideal); ``salient_auc``, the
salient score of the responding targets against the backgrounds' (AUC); ``S_responding`` and
``S_cell_type``, linear probes in the salient code; silhouette, ARI and NMI of cell types in
the common space (cells of both groups) and of the response in the salient space (targets),
as :func:`sepclr.evaluation.diagnostics.clustering_scores` computes them.

Rows: ``pca-50`` is PCA of the inputs (50 components) as the common code; a method name
(``sepclr``, ``cpca``, ``convae``) runs it with its defaults, ``sepclr-single-cell`` with
the single-cell recipe (what a run on cells uses by default); ``method/key=value/...`` sets
parameters (JSON values); a prefix ``pcaN>`` feeds the method the first N principal
components of the inputs, ``recN>`` the inputs rebuilt from them (N = 50 when left out).
Every run is written to ``OUT/runs/<row>-seed<k>.json`` and reused; ``OUT/single_cell.md``
tables the rows asked, ``OUT/all-rows.md`` every row of the folder.

    python benchmarks/single_cell.py --split test --rows pca-50 sepclr sepclr-single-cell \\
        cpca convae --out benchmarks/results/single_cell/test
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.decomposition import PCA

from sepclr.data.catalog import CADataset, load
from sepclr.engine.files import write_json, write_text
from sepclr.evaluation.cells import cross_condition_transfer
from sepclr.evaluation.diagnostics import (
    clustering_scores,
    code_group_auc,
    group_auc,
    salient_scores,
)
from sepclr.evaluation.probes import probe_balanced_accuracy
from sepclr.recipes import preset
from sepclr.registry import METHODS

ROWS: dict[str, tuple[str, dict[str, Any]]] = {
    "sepclr": ("sepclr", {}),
    "sepclr-single-cell": ("sepclr", preset("single-cell").params),
    "cpca": ("cpca", {"common_dim": 10, "salient_dim": 10}),
    "convae": ("convae", {}),
}


def _row_settings(row: str) -> tuple[str, dict[str, Any]]:
    """A row's method and parameters: a named row, or ``method/key=value/...`` (JSON
    values)."""
    if row in ROWS:
        return ROWS[row]
    method, *pairs = row.split("/")
    params = {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        params[key] = json.loads(value)
    return method, params


def _codes(row: str, seed: int, train: CADataset, split: CADataset) -> tuple[Any, float]:
    """``(encode, fit seconds)``: ``encode(x)`` gives the (common, salient) codes."""
    start = time.perf_counter()
    if row == "pca-50":
        pca = PCA(50, random_state=seed).fit(np.concatenate([train.background, train.target]))
        return (lambda x: (pca.transform(x), None)), time.perf_counter() - start
    reduce = None
    if ">" in row:
        prefix, row = row.split(">", 1)
        kind, components = prefix.rstrip("0123456789"), int(prefix[3:] or 50)
        pca = PCA(components, random_state=0).fit(np.concatenate([train.background, train.target]))
        reduce = (
            pca.transform if kind == "pca" else (lambda x: pca.inverse_transform(pca.transform(x)))
        )
    method, params = _row_settings(row)
    extra = {"seed": seed, "verbose": False} if method != "cpca" else {}
    model = METHODS[method].cls(**params, **extra)
    if reduce is None:
        model.fit(train.background, train.target)
        return model.transform, time.perf_counter() - start
    model.fit(reduce(train.background), reduce(train.target))
    return (lambda x: model.transform(reduce(x))), time.perf_counter() - start


def measure(row: str, seed: int, train: CADataset, split: CADataset) -> dict[str, float]:
    """One row and seed, fitted on ``train``, scored on ``split``."""
    encode, seconds = _codes(row, seed, train, split)
    return {"fit_seconds": seconds, **score(encode, train, split)}


def score(encode: Any, train: CADataset, split: CADataset) -> dict[str, float]:
    """Every column but the seconds, for ``encode(x) -> (common, salient or None)``."""
    (c_bg_train, _), (c_tg_train, _) = encode(train.background), encode(train.target)
    (c_bg, s_bg), (c_tg, s_tg) = encode(split.background), encode(split.target)
    types = split.factors["cell_type"]
    result = {
        "transfer": cross_condition_transfer(
            c_bg_train, train.background_factors["cell_type"], c_tg, types
        ),
        "condition_auc": code_group_auc((c_bg_train, c_tg_train), (c_bg, c_tg)),
    }
    c_all = np.concatenate([c_bg, c_tg])
    both = {"cell_type": np.r_[split.background_factors["cell_type"], types]}
    common = clustering_scores(c_all, c_all, both)
    result |= {
        f"common_{m.lower()}": common[f"C_cell_type_{m}"] for m in ("silhouette", "ARI", "NMI")
    }
    if s_tg is None:
        return result
    s_tg_train = encode(train.target)[1]
    responding = split.factors["responding"] == 1
    responses = clustering_scores(s_tg, s_tg, {"responding": split.factors["responding"]})
    salient = {m.lower(): responses[f"S_responding_{m}"] for m in ("silhouette", "ARI", "NMI")}
    result |= {
        "salient_auc": group_auc(salient_scores(s_bg), salient_scores(s_tg[responding])),
        "S_responding": probe_balanced_accuracy(
            s_tg_train, train.factors["responding"], s_tg, split.factors["responding"]
        ),
        "S_cell_type": probe_balanced_accuracy(s_tg_train, train.factors["cell_type"], s_tg, types),
        **{f"salient_{k}": v for k, v in salient.items()},
    }
    return result


COLUMNS = (
    "transfer", "condition_auc", "salient_auc", "S_responding", "S_cell_type",
    "common_silhouette", "common_ari", "common_nmi", "salient_ari", "salient_nmi", "fit_seconds",
)  # fmt: skip


def file_name(row: str) -> str:
    """A row's name as a plain file name."""
    for old, new in (("/", "_"), ("{", ""), ("}", ""), ('"', ""), (":", "-"), (",", "+")):
        row = row.replace(old, new)
    return row.replace(">", "-")


def table(results: dict[str, list[dict[str, float]]]) -> str:
    """Mean ± std of every column, one line per row."""
    lines = ["| row | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for row, runs in results.items():
        cells = []
        for column in COLUMNS:
            values = [run[column] for run in runs if column in run]
            digits = 1 if column in ("transfer", "S_responding", "S_cell_type") else 3
            cells.append(
                f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}" if values else ""
            )
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def every_run(folder: Path) -> dict[str, list[dict[str, float]]]:
    """Every run file of ``folder/runs``, by row (file name without its seed)."""
    results: dict[str, list[dict[str, float]]] = {}
    for path in sorted((folder / "runs").glob("*-seed*.json")):
        row = path.stem.rsplit("-seed", 1)[0]
        results.setdefault(row, []).append(json.loads(path.read_text()))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="validation", choices=("validation", "test"))
    parser.add_argument(
        "--rows", nargs="+", default=["pca-50", "sepclr", "sepclr-single-cell", "cpca", "convae"]
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--option", action="append", default=[], help="dataset KEY=JSON")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}
    train = load("pbmc-interferon", split="train", **options)
    split = load("pbmc-interferon", split=args.split, **options)
    results: dict[str, list[dict[str, float]]] = {}
    (args.out / "runs").mkdir(parents=True, exist_ok=True)
    for row in args.rows:
        for seed in range(args.seeds):
            path = args.out / "runs" / f"{file_name(row)}-seed{seed}.json"
            if not path.exists():
                write_json(path, measure(row, seed, train, split))
            results.setdefault(row, []).append(json.loads(path.read_text()))
        print(table({row: results[row]}).splitlines()[-1], flush=True)
    settings = {"dataset": "pbmc-interferon", "split": args.split, "options": options}
    write_text(args.out / "single_cell.md", f"{json.dumps(settings)}\n\n{table(results)}")
    write_json(args.out / "single_cell.json", {"settings": settings, "runs": results})
    write_text(args.out / "all-rows.md", f"{json.dumps(settings)}\n\n{table(every_run(args.out))}")


if __name__ == "__main__":
    main()
