"""Command line: ``sepclr fit | select | evaluate | transform | bench | download | datasets``."""

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sepclr import run as runs
from sepclr.bench import ABLATIONS, method_rows, run_table
from sepclr.data.catalog import availability, dataset_options
from sepclr.data.download import RESOURCES, download, load_or_fetch
from sepclr.engine.distributed import launched_by_torchrun
from sepclr.errors import SepCLRError, TrainingInterruptedError
from sepclr.export import ID_COLUMNS, INPUTS, OUTPUTS
from sepclr.methods.base import check_processes
from sepclr.methods.sepclr import OBJECTIVES, RESIDUALS
from sepclr.objectives import INDEPENDENCE_TERMS
from sepclr.presets import PRESETS, preset
from sepclr.registry import DATASETS, METHODS
from sepclr.selection import CANDIDATES


def _batch_size(text: str) -> int | str:
    """A batch size: a whole number, or ``auto`` (SepCLR sizes it from the data)."""
    return text if text == "auto" else int(text)


# CLI flag -> model parameter, with the function that reads its value.
MODEL_FLAGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "--common-dim": ("common_dim", int),
    "--salient-dim": ("salient_dim", int),
    "--backbone": ("backbone", str),
    "--objective": ("objective", str),
    "--residualize": ("residualize", str),
    "--independence": ("independence", str),
    "--independence-weight": ("independence_weight", float),
    "--salient-weight": ("salient_weight", float),
    "--infoless-weight": ("infoless_weight", float),
    "--bandwidth": ("bandwidth", float),
    "--epochs": ("epochs", int),
    "--batch-size": ("batch_size", _batch_size),
    "--lr": ("lr", float),
    "--width": ("width", int),
    "--seed": ("seed", int),
    "--device": ("device", str),
}


def _model_params(args: argparse.Namespace, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The model parameters given on the command line (flags left out keep the defaults),
    including ``--set NAME=VALUE`` pairs where the command has them."""
    given = {
        param: getattr(args, flag[2:].replace("-", "_"), None)
        for flag, (param, _) in MODEL_FLAGS.items()
    }
    given |= _pairs("--set", getattr(args, "set", None))
    return {p: v for p, v in given.items() if v is not None and p not in skip}


def _dataset_options(name: str, size: str | None) -> dict[str, Any]:
    """``{"size": size}`` for a dataset with named sizes; a size for any other is refused."""
    if size is None:
        return {}
    if name in DATASETS and not DATASETS[name].sizes:
        raise SepCLRError(f"--size applies to {', '.join(_sized())}, not to {name}")
    return {"size": size}


def _pairs(flag: str, pairs: list[str] | None) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as a dict, values read as JSON where they parse."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise SepCLRError(f"{flag} takes NAME=VALUE, got {pair!r}")
        try:
            out[name] = json.loads(text)
        except json.JSONDecodeError:
            out[name] = text
    return out


def _given_options(dataset: str, args: argparse.Namespace) -> dict[str, Any]:
    """The dataset options given on the command line: ``--size`` and ``--dataset-option``."""
    return {
        **_dataset_options(dataset, args.size),
        **_pairs("--dataset-option", args.dataset_option),
    }


def _new_run(args: argparse.Namespace) -> dict[str, Any]:
    dataset = args.dataset or (preset(args.preset).dataset if args.preset else None)
    if not dataset or not args.out:
        raise SepCLRError(
            "fit needs --dataset (or --preset) and --out (or --resume DIR to continue a run)"
        )
    return runs.settings(
        dataset,
        method=args.method,
        preset_name=args.preset,
        params=_model_params(args),
        dataset_options=_given_options(dataset, args),
        checkpoint_every=args.checkpoint_every,
        data_dir=args.data_dir,
    )


# Options that may change when a run is resumed; every other one comes from its run.json.
RESUME_OPTIONS = (
    "resume",
    "data_dir",
    "quiet",
    "no_evaluate",
    "plot",
    "tensorboard",
    "device",
    "devices",
    "no_download",
    "argv",
    "func",
    "command",
)


def _resumed_run(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.resume)
    defaults = vars(build_parser().parse_args(["fit", "--resume", str(out)]))
    changed = sorted(
        k for k, v in vars(args).items() if k not in RESUME_OPTIONS and v != defaults.get(k)
    )
    if changed:
        flags = ", ".join("--" + k.replace("_", "-") for k in changed)
        raise SepCLRError(
            f"--resume continues with the settings in {out / runs.RUN_FILE}; leave out {flags}"
        )
    return runs.resumable(out, args.device)


def cmd_fit(args: argparse.Namespace) -> None:
    if args.devices is not None and args.devices < 1:
        raise SepCLRError(f"--devices is a number of processes, at least 1; got {args.devices}")
    run = _resumed_run(args) if args.resume else _new_run(args)
    out = Path(args.resume or args.out)
    if args.devices is not None and args.devices > 1 and not launched_by_torchrun():
        if not args.resume:
            runs.check_new_out(out, args.overwrite)
        check_processes(runs.method_class(run["method"]), args.devices)
        _relaunch_on_processes(args.devices, args.argv)
        return
    runs.fit(
        run,
        out,
        _options(args),
        resume=bool(args.resume),
        tensorboard=args.tensorboard,
        processes=args.devices,
    )


def _options(args: argparse.Namespace) -> runs.Options:
    return runs.Options(
        data_dir=args.data_dir,
        download=not args.no_download,
        overwrite=args.overwrite,
        verbose=not args.quiet,
        evaluate=not args.no_evaluate,
        plot=args.plot,
    )


def _relaunch_on_processes(devices: int, argv: list[str]) -> None:
    """Run this same command on ``devices`` processes with ``torch.distributed.run`` (the
    module behind ``torchrun``) on this machine; raise if they fail."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={devices}",
        "-m",
        "sepclr",
        *argv,
    ]
    code = subprocess.run(command, env=os.environ.copy(), check=False).returncode
    if code == 130:
        raise TrainingInterruptedError("the training processes were interrupted")
    if code != 0:
        raise SepCLRError(f"the {devices} training processes failed (exit code {code})")


def cmd_evaluate(args: argparse.Namespace) -> None:
    runs.evaluate(args.run_dir, data_dir=args.data_dir, plot=args.plot)


def cmd_transform(args: argparse.Namespace) -> None:
    runs.transform(args.run_dir, args.input, args.out, args.id_column)


def cmd_bench(args: argparse.Namespace) -> None:
    params = _model_params(args, skip=frozenset({"independence", "seed"}))
    sizes = DATASETS[args.dataset].sizes if args.dataset in DATASETS else ()
    options = _dataset_options(args.dataset, args.size or (sizes[0] if sizes else None))
    if args.methods:
        if args.only:
            raise SepCLRError("--only selects ablation variants; with --methods, list the methods")
        variants, name = method_rows(args.methods), "methods"
    else:
        rows = tuple(ABLATIONS[args.ablation])
        variants = tuple(args.only.split(",")) if args.only else rows
        unknown = [v for v in variants if v not in rows]
        if unknown:
            raise SepCLRError(f"unknown variant(s) {unknown}; choose from {', '.join(rows)}")
        name = args.ablation
    train = load_or_fetch(args.dataset, args.data_dir, "train", options, not args.no_download)
    test = load_or_fetch(args.dataset, args.data_dir, args.split, options, not args.no_download)
    if args.split != "test":
        options = {**options, "split": args.split}
    run_table(
        train,
        test,
        args.out,
        variants,
        name,
        seeds=args.seeds,
        params=params,
        context={"dataset": args.dataset, **options},
    )
    print((Path(args.out) / f"{name}.md").read_text())


def cmd_select(args: argparse.Namespace) -> None:
    run = runs.settings(
        args.dataset,
        params=_model_params(args),
        dataset_options=_given_options(args.dataset, args),
        data_dir=args.data_dir,
    )
    names = [n.strip() for n in args.candidates.split(",")] if args.candidates else None
    runs.select(run, args.out, _options(args), candidates=names, folds=args.folds)


def cmd_download(args: argparse.Namespace) -> None:
    for name in args.names:
        print(f"{name}: {download(name, args.data_dir, progress=not args.quiet)}")


def cmd_datasets(args: argparse.Namespace) -> None:
    if args.name is not None and args.name not in DATASETS:
        raise SepCLRError(f"unknown dataset {args.name!r}; choose one of {', '.join(DATASETS)}")
    for name, description, where, how in availability(args.data_dir):
        if args.name not in (None, name):
            continue
        print(f"{name}\n  {description}\n  files: {where}")
        if where == "missing":
            print(f"  how to get them: {how}")
        if args.name is not None:
            _print_options(name)


def _print_options(name: str) -> None:
    """Each option of a dataset (``--dataset-option NAME=VALUE``), its default and meaning."""
    print("  options (--dataset-option NAME=VALUE; lists as a,b,c):")
    for option, default, meaning in dataset_options(name):
        meaning = meaning.replace("``", "")
        print(f"    {option} (default {default!r})" + (f": {meaning}" if meaning else ""))


def _sized() -> list[str]:
    return [name for name, info in DATASETS.items() if info.sizes]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sepclr",
        description="Contrastive analysis: separate the patterns a target dataset shares with "
        "a background dataset from those salient to the target.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    for add in (
        _add_fit,
        _add_select,
        _add_evaluate,
        _add_transform,
        _add_bench,
        _add_download,
        _add_datasets,
    ):
        add(sub)
    return parser


Subcommands = Any  # argparse's private _SubParsersAction


def _add_fit(sub: Subcommands) -> None:
    fit = sub.add_parser("fit", help="train a method on a dataset, save it, evaluate it")
    fit.add_argument(
        "--dataset", help="dataset name (see `sepclr datasets`); required without --preset"
    )
    fit.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="the paper's recipe for a dataset (its dataset, dims, weights, batch, epochs, "
        "backbone, views); other flags override its values",
    )
    fit.add_argument(
        "--dataset-option",
        action="append",
        metavar="NAME=VALUE",
        help="an option of the dataset, e.g. --dataset-option size=64 (repeatable); "
        "`sepclr datasets NAME` lists a dataset's options",
    )
    fit.add_argument("--method", choices=sorted(METHODS), default="sepclr", help="default: sepclr")
    fit.add_argument("--out", help="directory for the model and its results; required")
    fit.add_argument("--data-dir", help="where the dataset files are (searched first)")
    fit.add_argument(
        "--no-download",
        action="store_true",
        help="never download missing public files (also: SEPCLR_OFFLINE=1)",
    )
    fit.add_argument(
        "--size", help=f"size of {' or '.join(_sized())} (small, default; digits-on-fashion: full)"
    )
    for flag, (param, kind) in MODEL_FLAGS.items():
        extra: dict[str, Any] = {}
        choices = {
            "independence": INDEPENDENCE_TERMS,
            "objective": OBJECTIVES,
            "residualize": RESIDUALS,
        }
        if param in choices:
            extra["choices"] = choices[param]
        fit.add_argument(flag, type=kind, help=f"{param} (default: the method's)", **extra)
    _add_run_options(fit)
    fit.set_defaults(func=cmd_fit)


def _add_run_options(fit: argparse.ArgumentParser) -> None:
    """``sepclr fit``'s options about the run: checkpoints, resumption, processes, outputs."""
    fit.add_argument(
        "--checkpoint-every",
        type=int,
        default=1,
        metavar="N",
        help="write OUT/checkpoint every N epochs (default 1; always after the last one)",
    )
    fit.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the stopped run in DIR (its --out) from DIR/checkpoint, with the "
        "settings in DIR/run.json (only --data-dir, --device and the output flags may change)",
    )
    fit.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in --out (its model, checkpoint and results)",
    )
    fit.add_argument(
        "--devices",
        type=int,
        metavar="N",
        help="train on N processes of this machine (one per GPU, or CPU processes), "
        "the batch size being the global batch; under torchrun, N is its --nproc-per-node",
    )
    fit.add_argument("--no-evaluate", action="store_true", help="skip the probes after training")
    fit.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="any other parameter of the method, e.g. --set tc_weight=2 (repeatable)",
    )
    fit.add_argument(
        "--plot",
        action="store_true",
        help="also write training.png, spaces.png (and reconstructions.png for a VAE on images)",
    )
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write TensorBoard event files of the training curves into OUT/tensorboard",
    )


def _add_select(sub: Subcommands) -> None:
    chooser = sub.add_parser(
        "select",
        help="choose SepCLR's settings without labels: train candidates, rank them on "
        "held-out rows, keep the best",
    )
    chooser.add_argument("--dataset", required=True, help="dataset name (see `sepclr datasets`)")
    chooser.add_argument(
        "--dataset-option",
        action="append",
        metavar="NAME=VALUE",
        help="an option of the dataset (repeatable)",
    )
    chooser.add_argument("--size", help=f"size of {' or '.join(_sized())}")
    chooser.add_argument("--out", required=True, help="directory for the ranking and the model")
    chooser.add_argument("--data-dir", help="where the dataset files are (searched first)")
    chooser.add_argument(
        "--candidates",
        help=f"comma-separated subset of: {', '.join(c.name for c in CANDIDATES)} (default: all)",
    )
    chooser.add_argument(
        "--folds",
        type=int,
        help="cross-validation folds (default: 3 when a group has fewer than 2,000 rows, "
        "else 1, one held-out fifth)",
    )
    _add_model_flags(chooser, "every candidate", frozenset())
    chooser.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    chooser.add_argument("--no-evaluate", action="store_true", help="skip the test-split report")
    chooser.add_argument(
        "--no-download",
        action="store_true",
        help="never download missing public files (also: SEPCLR_OFFLINE=1)",
    )
    chooser.add_argument("--plot", action="store_true", help="also write spaces.png")
    chooser.add_argument("--quiet", action="store_true", help="no line per candidate")
    chooser.set_defaults(func=cmd_select)


def _add_evaluate(sub: Subcommands) -> None:
    evaluate = sub.add_parser("evaluate", help="probe a trained run directory")
    evaluate.add_argument("run_dir", help="directory written by `sepclr fit`")
    evaluate.add_argument("--data-dir", help="where the dataset files are (searched first)")
    evaluate.add_argument("--plot", action="store_true", help="also write spaces.png")
    evaluate.set_defaults(func=cmd_evaluate)


def _add_transform(sub: Subcommands) -> None:
    transform = sub.add_parser(
        "transform", help="write the common and salient codes of samples in a file"
    )
    transform.add_argument("run_dir", help="directory written by `sepclr fit`")
    transform.add_argument(
        "--input",
        required=True,
        help=f"the samples: {', '.join(INPUTS)} (tables and cells as the run's dataset reads them)",
    )
    transform.add_argument(
        "--out",
        required=True,
        help=f"where the codes go: {', '.join(OUTPUTS)} (.h5ad: the input AnnData with obsm)",
    )
    transform.add_argument(
        "--id-column", help=f"the input table's identifier column (default: {ID_COLUMNS[0]}, ...)"
    )
    transform.set_defaults(func=cmd_transform)


def _add_bench(sub: Subcommands) -> None:
    bench = sub.add_parser(
        "bench", help="train every method or ablation variant x seed, write the table"
    )
    bench.add_argument("--dataset", required=True, help="dataset name (see `sepclr datasets`)")
    what = bench.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--ablation",
        choices=sorted(ABLATIONS),
        help="SepCLR rows: 'independence', one per independence term; 'salient', the "
        "variants of the objective that keep common factors out of the salient space",
    )
    what.add_argument(
        "--methods",
        help="comma-separated: all, baselines, cpca, cvae, convae, mm-cvae, sepvae, sepclr, "
        "sepclr-<term>",
    )
    bench.epilog = (
        "Model flags go to every method with a parameter of that name; the others keep "
        "their defaults."
    )
    bench.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per variant")
    bench.add_argument("--out", required=True, help="directory for runs and tables (resumable)")
    bench.add_argument("--data-dir", help="where the dataset files are (searched first)")
    bench.add_argument(
        "--no-download",
        action="store_true",
        help="never download missing public files (also: SEPCLR_OFFLINE=1)",
    )
    bench.add_argument("--size", help=f"size of {' or '.join(_sized())} (default here: small)")
    bench.add_argument("--only", help="comma-separated subset of the variants")
    bench.add_argument(
        "--split",
        choices=["test", "validation"],
        default="test",
        help="split the probes are scored on: 'validation' to choose settings without "
        "looking at the test split (synthetic datasets and digits-on-fashion)",
    )
    _add_model_flags(bench, "every method that has it", frozenset({"independence", "seed"}))
    bench.set_defaults(func=cmd_bench)


def _add_model_flags(parser: argparse.ArgumentParser, whose: str, skip: frozenset[str]) -> None:
    """The model flags but ``skip`` and ``--set``, each for the models ``whose`` names."""
    parser.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help=f"any other model parameter of {whose} (JSON value), repeatable",
    )
    for flag, (param, kind) in MODEL_FLAGS.items():
        if param not in skip:
            parser.add_argument(flag, type=kind, help=f"{param} of {whose}")


def _add_download(sub: Subcommands) -> None:
    fetch = sub.add_parser(
        "download", help="download public source files (checksummed, resumable) into the data dir"
    )
    fetch.add_argument(
        "names",
        nargs="+",
        choices=sorted(RESOURCES),
        metavar="NAME",
        help=f"one or more of {', '.join(sorted(RESOURCES))}",
    )
    fetch.add_argument(
        "--data-dir", help="where to put them (default $SEPCLR_DATA or ~/.cache/sepclr)"
    )
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(func=cmd_download)


def _add_datasets(sub: Subcommands) -> None:
    datasets = sub.add_parser(
        "datasets", help="list datasets and whether their files are here; NAME: its options"
    )
    datasets.add_argument("name", nargs="?", help="a dataset: show its options too")
    datasets.add_argument("--data-dir", help="extra directory to search first")
    datasets.set_defaults(func=cmd_datasets)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args.func(args)
    except TrainingInterruptedError as exc:
        print(f"sepclr: {exc}", file=sys.stderr)
        return 130
    except SepCLRError as exc:
        print(f"sepclr: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sepclr: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file system refusal outside sepclr's own checks
        print(f"sepclr: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
