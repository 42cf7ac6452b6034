"""Known covariates out of the salient space: every method with and without them, and the
post-hoc baseline, on a benchmark whose common factors are known in both groups.

Rows, each over ``--seeds`` seeds (mean ± std):

- ``<method>``: the method with its defaults, no covariates;
- ``<method>+cov``: the same, fitted with the covariates: the VAEs condition their decoder on
  them, cPCA regresses their linear effect out of the inputs, and every method then erases
  their linear trace from the salient code (``sepclr.objectives.covariates.linear_erasure``);
- ``<method>+cov before erasure``: the codes of the same fits before the erasure (what the
  VAEs' conditioning and cPCA's regression do alone);
- ``sepclr+posthoc``: SepCLR without covariates, then its salient code linearly residualised
  on the covariates (least squares on the train targets, applied with each split's own
  covariates): the simple baseline, which needs the covariates of every new sample.

Columns: the dataset's probes (``S_sex`` is the balanced accuracy of sex from the salient
code, ...) and, for each continuous covariate, the held-out R^2 from each code
(``S_age_R2``). Every run is written to ``OUT/runs/<row>-seed<k>.json`` as soon as it ends
and reused when the script runs again; the table goes to ``OUT/covariates.md`` and ``.json``.

    python benchmarks/covariates.py synthetic-tabular --covariates shared --seeds 3 \\
        --out benchmarks/results/covariates/tabular
    python benchmarks/covariates.py synthetic-brain --covariates age,sex,site --size small \\
        --width 8 --seeds 3 --out benchmarks/results/covariates/brain
    python benchmarks/covariates.py digits-on-fashion --covariates object --size small \\
        --methods sepclr,cpca --seeds 3 --out benchmarks/results/covariates/digits
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from sepclr.bench import leak_columns
from sepclr.data.catalog import CADataset, load
from sepclr.engine.files import write_json, write_text
from sepclr.evaluation.leaks import covariate_leaks
from sepclr.evaluation.report import format_score, markdown_table, probe_columns, probe_row
from sepclr.evaluation.run_report import fit_inputs
from sepclr.methods.covariates import fit_covariates
from sepclr.registry import METHODS

POSTHOC = "sepclr+posthoc"


class Residualised:
    """A fitted model whose salient code is residualised on the covariates of the rows it
    encodes (found by the identity of the arrays the probes pass)."""

    def __init__(self, model: Any, splits: list[CADataset], names: list[str]) -> None:
        self.model = model
        fitted = fit_covariates(*splits[0].covariates(names), _rows(splits[0]))
        assert fitted is not None
        spec = fitted[0]
        self.rows: dict[int, np.ndarray] = {}
        for split in splits:
            background, target = split.covariates(names)
            for rows, group, name in (
                (split.background, background, "background"),
                (split.target, target, "target"),
            ):
                self.rows[id(rows)] = spec.encode(group, name, len(rows))
        train = splits[0]
        salient = model.transform(train.target)[1]
        design = _design(self.rows[id(train.target)])
        self.coef, *_ = np.linalg.lstsq(design, salient, rcond=None)
        self.coef[0] = 0.0  # keep the mean: remove what varies with the covariates only

    def transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        common, salient = self.model.transform(x)
        return common, (salient - _design(self.rows[id(x)]) @ self.coef).astype(np.float32)


def _design(encoded: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(encoded)), encoded])


def _rows(split: CADataset) -> tuple[int, int]:
    return len(split.background), len(split.target)


def _model(row: str, seed: int, params: dict[str, Any], features: int) -> Any:
    cls = METHODS[row.split("+")[0]].cls
    accepted = cls().get_params()
    settings = {k: v for k, v in params.items() if k in accepted} | {"seed": seed}
    if not cls.trains_by_epochs:  # cPCA: at most half the features in each space
        settings |= {d: min(accepted[d], features // 2) for d in ("common_dim", "salient_dim")}
    return cls(**settings | ({"verbose": False} if cls.trains_by_epochs else {}))


def _run(row: str, seed: int, params: dict[str, Any], data: tuple, names: list[str]) -> dict:
    train, test = data
    model = _model(row, seed, params, int(np.prod(train.target.shape[1:])))
    covariates = names if row.endswith("+cov") else []
    start = time.perf_counter()
    model.fit(train.background, train.target, **fit_inputs(model, train, covariates))
    seconds = time.perf_counter() - start
    probed = Residualised(model, [train, test], names) if row == POSTHOC else model
    result = {
        "row": row,
        "seed": seed,
        "params": json.loads(json.dumps(model.get_params())),
        "fit_seconds": seconds,
        **_scores(probed, train, test, names),
    }
    if covariates:
        result["before_erasure"] = _scores(BeforeErasure(model), train, test, names)
    return result


class BeforeErasure:
    """A model fitted with covariates, read before the erasure of its salient code."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        common, salient = self.model._transform(x)
        return common, salient


def _scores(model: Any, train: CADataset, test: CADataset, names: list[str]) -> dict:
    leaks = covariate_leaks(model, train, test, names)
    return {
        **probe_row(model, train, test),
        **{f"{code}_{n}_R2": leak[code] for n, leak in leaks.items() for code in ("S", "C")
           if leak["kind"] == "continuous"},
        "covariate_leaks": leaks,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--covariates", required=True)
    parser.add_argument("--methods", default="sepclr,cvae,convae,mm-cvae,sepvae,cpca")
    parser.add_argument("--size")
    parser.add_argument("--width", type=int)
    parser.add_argument("--split", default="test", choices=["test", "validation"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    names = args.covariates.split(",")
    options = {} if args.size is None else {"size": args.size}
    train = load(args.dataset, split="train", **options)
    test = load(args.dataset, split=args.split, **options)
    params = {} if args.width is None else {"width": args.width}
    params |= {k: json.loads(v) for k, _, v in (pair.partition("=") for pair in args.set)}
    rows = [r for m in args.methods.split(",") for r in (m, f"{m}+cov")]
    rows += [POSTHOC] if "sepclr" in args.methods.split(",") else []
    out = Path(args.out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    summary: dict[str, dict[str, float]] = {}
    columns = probe_columns(test) + leak_columns(test, names)
    for row in rows:
        results = []
        for seed in range(args.seeds):
            path = out / "runs" / f"{row}-seed{seed}.json"
            if not path.exists():
                result = _run(row, seed, params, (train, test), names)
                write_json(path, result)
                print(f"{row} seed {seed}: {result['fit_seconds']:.0f} s", flush=True)
            results.append(json.loads(path.read_text()))
        variants = [(row, results)]
        if "before_erasure" in results[0]:
            variants.append((f"{row} before erasure", [r["before_erasure"] for r in results]))
        for label, found in variants:
            summary[label] = {"fit_seconds": float(np.mean([r["fit_seconds"] for r in results]))}
            for column in columns:
                values = [r[column] for r in found]
                summary[label][column] = float(np.mean(values))
                summary[label][f"{column}_std"] = float(np.std(values))
    settings = {"dataset": args.dataset, **options, "split": args.split, "covariates": names}
    settings |= params
    shown = {
        row: {c: f"{format_score(c, v[c])} ± {format_score(c, v[c + '_std'])}" for c in columns}
        | {"fit s": f"{v['fit_seconds']:.0f}"}
        for row, v in summary.items()
    }
    text = f"Mean ± std over {args.seeds} seed(s); {json.dumps(settings)}\n\n"
    text += markdown_table(shown, [*columns, "fit s"]) + "\n"
    write_text(out / "covariates.md", text)
    write_json(out / "covariates.json", {"settings": settings, "rows": summary})
    print(text)


if __name__ == "__main__":
    main()
