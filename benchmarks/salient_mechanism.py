"""Why the salient space keeps the common factor: measurements on digits-on-fashion.

For SepCLR with the given parameters (the library's defaults unless ``--set`` changes them),
seed by seed, on the validation split:

- the four probes after 0, 1, 3, 10 and 30 epochs (one run each; with a constant learning
  rate a shorter run is the beginning of a longer one);
- after 30 epochs with one term removed (no k-JEM, no salient InfoMax, no
  information-less penalty);
- for each model, how the salient encoder treats the common content: the mean salient norm
  of backgrounds and of targets; S_object among backgrounds (a probe fitted on train
  backgrounds, scored on validation backgrounds); S_object on the validation backgrounds
  with a digit pasted on (a probe fitted on train targets); and, on a grid of 100
  backgrounds x 10 digits (one per class), the shares of the salient variance that the
  background image alone and the digit alone explain (two-way decomposition of the grid).

Each run writes ``results/salient_mechanism/<label>/<run>-seed<k>.json`` (existing files are
reused, so the script resumes) and the summary ``results/salient_mechanism/<label>.md``.

    python benchmarks/salient_mechanism.py [--size small] [--seeds 3] [--label paper-default]
        [--set NAME=VALUE ...]
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

import sepclr
from sepclr.data.sets.digits_on_fashion import mnist_like_digits
from sepclr.data.sources import load_sklearn_digits
from sepclr.evaluation import markdown_table, probe_row
from sepclr.evaluation.probes import probe_balanced_accuracy

RESULTS = Path(__file__).parent / "results" / "salient_mechanism"
EPOCHS = (0, 1, 3, 10, 30)
REMOVED = {
    "no k-JEM": {"independence_weight": 0.0},
    "no salient InfoMax": {"salient_weight": 0.0},
    "no information-less penalty": {"infoless_weight": 0.0},
}
COLUMNS = [
    "S_digit",
    "C_digit",
    "S_object",
    "C_object",
    "norm_bg",
    "norm_tg",
    "S_object_bg",
    "S_object_pasted",
    "share_background",
    "share_digit",
]


def one_digit_per_class() -> np.ndarray:
    """The first digit of each class in the train pool of digits-on-fashion, as strokes."""
    images, labels = load_sklearn_digits()
    order = np.random.default_rng(0).permutation(len(images))[:1_200]
    first = [order[np.flatnonzero(labels[order] == k)[0]] for k in range(10)]
    return mnist_like_digits(images[first])


def salient_diagnostics(model: Any, train: Any, valid: Any) -> dict[str, float]:
    """Norms, background and pasted-digit probes, and the two-way variance shares of S."""
    _, s_train_bg = model.transform(train.background)
    _, s_train_tg = model.transform(train.target)
    _, s_bg = model.transform(valid.background)
    _, s_tg = model.transform(valid.target)
    strokes = one_digit_per_class()
    rng = np.random.default_rng(0)
    pasted = valid.background + 0.5 * strokes[rng.integers(0, 10, len(valid.background))][:, None]
    _, s_pasted = model.transform(pasted.astype(np.float32))
    objects_bg, objects_train_bg = valid.background_factors["object"], train.background_factors
    grid_bg = valid.background[:100]
    grid = (grid_bg[:, None] + 0.5 * strokes[None, :, None]).reshape(-1, *grid_bg.shape[1:])
    _, s_grid = model.transform(grid.astype(np.float32))
    s_grid = s_grid.reshape(100, 10, -1)
    total = float(((s_grid - s_grid.mean(axis=(0, 1))) ** 2).sum(-1).mean()) + 1e-12
    by_background = s_grid.mean(axis=1, keepdims=True) - s_grid.mean(axis=(0, 1))
    by_digit = s_grid.mean(axis=0, keepdims=True) - s_grid.mean(axis=(0, 1))
    return {
        "norm_bg": float(np.linalg.norm(s_bg, axis=1).mean()),
        "norm_tg": float(np.linalg.norm(s_tg, axis=1).mean()),
        "S_object_bg": probe_balanced_accuracy(
            s_train_bg, objects_train_bg["object"], s_bg, objects_bg
        ),
        "S_object_pasted": probe_balanced_accuracy(
            s_train_tg, train.factors["object"], s_pasted, objects_bg
        ),
        "share_background": 100.0 * float((by_background**2).sum(-1).mean()) / total,
        "share_digit": 100.0 * float((by_digit**2).sum(-1).mean()) / total,
    }


def run(params: dict[str, Any], train: Any, valid: Any, path: Path) -> dict[str, Any]:
    if path.exists():
        result: dict[str, Any] = json.loads(path.read_text())
        return result
    start = time.perf_counter()
    model = sepclr.SepCLR(**params, verbose=False).fit(train.background, train.target)
    seconds = time.perf_counter() - start
    result = {
        "params": model.get_params(),
        "fit_seconds": seconds,
        **probe_row(model, train, valid),
        **salient_diagnostics(model, train, valid),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(path.stem, {k: round(result[k], 1) for k in COLUMNS}, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--label", default="defaults")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    settings = {k: json.loads(v) for k, _, v in (p.partition("=") for p in args.set)}
    train = sepclr.datasets.load("digits-on-fashion", size=args.size)
    valid = sepclr.datasets.load("digits-on-fashion", split="validation", size=args.size)
    folder = RESULTS / args.label
    runs = {f"epoch {e}": {"epochs": e} for e in EPOCHS} | REMOVED
    summary = {}
    for name, change in runs.items():
        slug = name.replace(" ", "-")
        results = [
            run(
                {**settings, **change, "seed": seed},
                train,
                valid,
                folder / f"{slug}-seed{seed}.json",
            )
            for seed in range(args.seeds)
        ]
        summary[name] = {
            c: f"{np.mean([r[c] for r in results]):.1f} ± {np.std([r[c] for r in results]):.1f}"
            for c in COLUMNS
        }
    command = f"python benchmarks/salient_mechanism.py --size {args.size} --seeds {args.seeds} "
    command += f"--label {args.label}" + "".join(f" --set {p}" for p in args.set)
    header = (
        f"# Salient-space mechanism, digits-on-fashion ({args.size}), validation split, "
        f"{args.seeds} seed(s), mean ± std\n\nCommand: `{command}`\n\nSettings: "
        f"{json.dumps(settings)} (library defaults otherwise)\n\n"
    )
    (RESULTS / f"{args.label}.md").write_text(header + markdown_table(summary, COLUMNS) + "\n")
    print(markdown_table(summary, COLUMNS))


if __name__ == "__main__":
    main()
