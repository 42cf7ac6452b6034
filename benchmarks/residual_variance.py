"""How much of the backgrounds' common variance the residualization should treat as common.

For each seed, trains SepCLR with the paper's objective once, then fits the post-hoc
correction of ``residualize`` (``"salient"`` and ``"both"``) keeping the principal directions
of the backgrounds' common codes that explain 50 % to 99 % of their variance, and scores
every variant on the validation split. Writes ``results/salient/residual-variance/
<dataset>.json`` (every seed) and ``<dataset>.md`` (mean ± std per setting).

    python benchmarks/residual_variance.py synthetic-tabular
    python benchmarks/residual_variance.py synthetic-brain --size small --width 8
    python benchmarks/residual_variance.py digits-on-fashion --size small
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

import sepclr
from sepclr.evaluation import probe_row
from sepclr.methods.residuals import fit_residuals

RESULTS = Path(__file__).parent / "results" / "salient" / "residual-variance"
KEPT = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--size")
    parser.add_argument("--width", type=int)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    load = {"size": args.size} if args.size else {}
    params = {"width": args.width} if args.width else {}
    train = sepclr.datasets.load(args.dataset, **load)
    valid = sepclr.datasets.load(args.dataset, split="validation", **load)
    inputs = torch.cat([torch.as_tensor(train.background), torch.as_tensor(train.target)])
    is_target = torch.arange(len(inputs)) >= len(train.background)
    rows = []
    for seed in range(args.seeds):
        model = sepclr.SepCLR(objective="paper", seed=seed, verbose=False, **params)
        model.fit(train.background, train.target)
        rows.append({"seed": seed, "kept_variance": None, "mode": "none"})
        rows[-1] |= probe_row(model, train, valid)
        for kept in KEPT:
            for mode in ("salient", "both"):
                model.set_params(objective="extended", residualize=mode)
                cpu = torch.device("cpu")
                target = model._encode_raw(inputs[is_target], cpu)
                background = model._encode_raw(inputs[~is_target], cpu)
                model.residuals_ = fit_residuals(target, background, mode, kept)
                rows.append({"seed": seed, "kept_variance": kept, "mode": mode})
                rows[-1] |= probe_row(model, train, valid)
        model.set_params(objective="paper", residualize=None)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.dataset}.json").write_text(json.dumps(rows, indent=1) + "\n")
    columns = [c for c in rows[0] if c not in ("seed", "kept_variance", "mode")]
    lines = [
        f"# Residualization's kept variance, {args.dataset}, validation split, "
        f"{args.seeds} seeds, mean ± std",
        "",
        "| kept variance | mode | " + " | ".join(columns) + " |",
        "|" + "---|" * (len(columns) + 2),
    ]
    for setting in dict.fromkeys((r["kept_variance"], r["mode"]) for r in rows):
        runs = [r for r in rows if (r["kept_variance"], r["mode"]) == setting]
        cells = [
            f"{np.mean([r[c] for r in runs]):.3g} ± {np.std([r[c] for r in runs]):.2g}"
            for c in columns
        ]
        lines.append(f"| {setting[0] or '-'} | {setting[1]} | " + " | ".join(cells) + " |")
    (RESULTS / f"{args.dataset}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
