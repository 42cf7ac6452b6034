"""Screening the covariate term of SepCLR: which dependence measure between the target rows'
salient code and the named covariates keeps them out of the salient space.

Each variant replaces :func:`sepclr.objectives.covariates.covariate_dependence` for one
fit of SepCLR with its defaults and ``covariate_weight`` (``none``: no covariates, the
paper's objective). Variants:

- ``kernel``: the mean normalised HSIC, Gaussian kernel (median bandwidth) on ``s``, delta
  kernel on a category, Gaussian on a number;
- ``kernel-std``: the same on ``s`` standardised per dimension over the batch's targets (the
  probes standardise the code, so a direction of small variance is as readable as any);
- ``linear-std``: the linear normalised HSIC (linear CKA) between the standardised ``s`` and
  each covariate's encoded columns;
- ``cca``: the mean squared canonical correlation between ``s`` and each covariate's columns
  (ridge 0.1), invariant to any invertible linear map of ``s``.

Each fit is also probed after the linear erasure of the covariates from its salient code
(:func:`sepclr.objectives.covariates.linear_erasure`, fitted on the train targets): the row
``<variant>+erase``.

One JSON per run in ``OUT/<variant>-w<weight>-seed<k>.json`` (probes, leaks, loss history),
skipped when it exists; a Markdown table of the mean ± std of each variant in
``OUT/terms.md``.

    python benchmarks/covariate_terms.py synthetic-brain --size small --width 8 \\
        --covariates age,sex,site --variants none,kernel,kernel-std,linear-std,cca \\
        --weight 100 --seeds 3 --split validation --out benchmarks/results/covariates/terms-brain
"""

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

import sepclr.objectives.covariates as term
from sepclr.bench import leak_columns
from sepclr.data.catalog import load
from sepclr.engine.files import write_json, write_text
from sepclr.evaluation.leaks import covariate_leaks
from sepclr.evaluation.report import format_score, markdown_table, probe_columns, probe_row
from sepclr.methods import SepCLR, sepclr_module
from sepclr.methods.covariates import fit_covariates
from sepclr.objectives.covariates import linear_erasure
from sepclr.objectives.redundancy import cca, median_kernel, normalised_hsic

LIBRARY = term.covariate_dependence


def _standardised(s: torch.Tensor) -> torch.Tensor:
    return (s - s.mean(0)) / (s.std(0) + 1e-6)


def _targets(s: torch.Tensor, z: torch.Tensor, is_target: torch.Tensor, shard: Any) -> tuple:
    targets = shard.gather(is_target.to(s.dtype).unsqueeze(1)).squeeze(1) > 0.5
    return shard.gather(s)[targets].float(), shard.gather(z)[targets].float()


def _measure(score: Callable[[torch.Tensor, torch.Tensor, bool], torch.Tensor]) -> Callable:
    def dependence(s, covariates, blocks, is_target, shard=term.SINGLE_PROCESS):
        s_t, z_t = _targets(s, covariates, is_target, shard)
        if len(s_t) < 3:
            return s.sum() * 0.0
        return torch.stack([score(s_t, z_t[:, c], cat) for c, cat in blocks]).mean()

    return dependence


def _kernel_std(s: torch.Tensor, z: torch.Tensor, categorical: bool) -> torch.Tensor:
    L = z @ z.T if categorical else median_kernel(z)
    return normalised_hsic(median_kernel(_standardised(s)), L)


def _linear_std(s: torch.Tensor, z: torch.Tensor, categorical: bool) -> torch.Tensor:
    S, Z = _standardised(s), z - z.mean(0)
    cross = (S.T @ Z).pow(2).sum()
    return cross / ((S.T @ S).pow(2).sum().sqrt() * (Z.T @ Z).pow(2).sum().sqrt() + 1e-12)


def _cca(s: torch.Tensor, z: torch.Tensor, categorical: bool) -> torch.Tensor:
    return cca(z[:, 1:] if categorical else z, s)  # one indicator less: the rest is full rank


VARIANTS: dict[str, Callable | None] = {
    "none": None,
    "kernel": LIBRARY,
    "kernel-std": _measure(_kernel_std),
    "linear-std": _measure(_linear_std),
    "cca": _measure(_cca),
}


def _run(
    variant: str, weight: float, seed: int, data: tuple, names: list[str], params: dict
) -> dict:
    train, test = data
    sepclr_module.covariate_dependence = VARIANTS[variant] or LIBRARY
    covariates = (
        {}
        if variant == "none"
        else dict(
            zip(
                ("background_covariates", "target_covariates"), train.covariates(names), strict=True
            )
        )
    )
    extra = {} if variant == "none" else {"covariate_weight": weight}
    model = SepCLR(**params, **extra, seed=seed, verbose=False)
    start = time.perf_counter()
    model.fit(train.background, train.target, **covariates)
    seconds = time.perf_counter() - start
    return {
        "variant": variant, "weight": weight, "seed": seed, "fit_seconds": seconds,
        **_scores(model, train, test, names),
        "erased": _scores(Erased(model, train, names), train, test, names),
        "history": model.history_, "params": json.loads(json.dumps(model.get_params())),
    }  # fmt: skip


def _scores(model: Any, train: Any, test: Any, names: list[str]) -> dict:
    leaks = covariate_leaks(model, train, test, names)
    return {
        **probe_row(model, train, test),
        **{f"{code}_{n}_R2": leak[code] for n, leak in leaks.items() for code in ("S", "C")
           if leak["kind"] == "continuous"},
        "covariate_leaks": leaks,
    }  # fmt: skip


class Erased:
    """A fitted model whose salient code is multiplied by the erasure fitted on the train
    targets' salient codes and covariates."""

    def __init__(self, model: Any, train: Any, names: list[str]) -> None:
        self.model = model
        rows = (len(train.background), len(train.target))
        fitted = fit_covariates(*train.covariates(names), rows)
        assert fitted is not None
        salient = torch.from_numpy(model.transform(train.target)[1])
        self.erasure = linear_erasure(salient, fitted[1][rows[0] :]).numpy()

    def transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        common, salient = self.model.transform(x)
        return common, salient @ self.erasure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--covariates", required=True)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--weight", type=float, default=100.0)
    parser.add_argument("--size")
    parser.add_argument("--width", type=int)
    parser.add_argument("--split", default="validation", choices=["test", "validation"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    names = args.covariates.split(",")
    options = {} if args.size is None else {"size": args.size}
    data = (
        load(args.dataset, split="train", **options),
        load(args.dataset, split=args.split, **options),
    )
    params: dict[str, Any] = {"device": args.device}
    params |= {} if args.width is None else {"width": args.width}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    columns = probe_columns(data[1]) + leak_columns(data[1], names)
    summary: dict[str, dict[str, str]] = {}
    for variant in args.variants.split(","):
        results = []
        for seed in range(args.seeds):
            path = out / f"{variant}-w{args.weight:g}-seed{seed}.json"
            if not path.exists():
                write_json(path, _run(variant, args.weight, seed, data, names, params))
                print(f"{variant} seed {seed} done", flush=True)
            results.append(json.loads(path.read_text()))
        for label, rows in (
            (variant, results),
            (f"{variant}+erase", [r["erased"] for r in results]),
        ):
            summary[f"{label} (w={args.weight:g})"] = {
                c: f"{format_score(c, np.mean([r[c] for r in rows]))} ± "
                f"{format_score(c, np.std([r[c] for r in rows]))}"
                for c in columns
            }
    text = (
        f"{args.dataset} {options}, {args.split} split, covariates {names}, {args.seeds} seeds\n\n"
    )
    write_text(out / "terms.md", text + markdown_table(summary, columns) + "\n")
    print(text + markdown_table(summary, columns))


if __name__ == "__main__":
    main()
