"""Command line: ``sepclr fit | select | evaluate | transform | explain | bench | download |
datasets``.

Each command parses its arguments and calls :mod:`sepclr.run`, :mod:`sepclr.bench`,
:mod:`sepclr.attribution.outputs` or the dataset catalog, which do the work.
"""

import argparse
import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import torch

from sepclr import run as runs
from sepclr._version import __version__
from sepclr.attribution import METHODS as ATTRIBUTION_METHODS
from sepclr.attribution.outputs import ExplainRequest, explain_run
from sepclr.bench import ABLATIONS, bench
from sepclr.data.catalog import dataset_options, describe
from sepclr.data.download import RESOURCES, download
from sepclr.data.tables import ID_COLUMNS
from sepclr.errors import SepCLRError, SepCLRWarning, TrainingInterruptedError
from sepclr.export import INPUTS, OUTPUTS
from sepclr.launch import fit_on_processes
from sepclr.methods.sepclr import OBJECTIVES, RESIDUALS
from sepclr.recipes import CANDIDATES, PRESETS, preset
from sepclr.registry import DATASETS, METHODS, TERMS
from sepclr.selection import SCREEN


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
CHOICES = {"independence": TERMS, "objective": OBJECTIVES, "residualize": RESIDUALS}
BENCH_SKIPS = frozenset({"independence", "seed"})  # set by each row of a benchmark

# Options that may change when a run is resumed; every other one comes from its run.json.
RESUME_OPTIONS = frozenset(
    {"resume", "data_dir", "quiet", "no_evaluate", "plot", "tensorboard", "device", "devices"}
    | {"no_download", "argv", "func", "command"}
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (the CLI's, with status 1)."""

    def error(self, message: str) -> NoReturn:
        raise SepCLRError(f"{message} (see `{self.prog} --help`)")


def _model_params(args: argparse.Namespace, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The model parameters given on the command line (flags left out keep the defaults),
    including the ``--set NAME=VALUE`` pairs; a parameter given twice is refused."""
    given = {
        param: (flag, value)
        for flag, (param, _) in MODEL_FLAGS.items()
        if (value := getattr(args, flag[2:].replace("-", "_"), None)) is not None
    }
    pairs = _pairs("--set", args.set)
    for name in sorted(set(pairs) & set(given)):
        flag, value = given[name]
        raise SepCLRError(
            f"{name} is given twice, as {flag} {value} and as --set {name}={pairs[name]}; "
            "give it once"
        )
    params = {p: value for p, (_, value) in given.items()} | pairs
    return {p: v for p, v in params.items() if p not in skip}


def _pairs(flag: str, pairs: list[str] | None) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as a dict, values read as JSON where they parse; a name given
    twice is refused."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise SepCLRError(f"{flag} takes NAME=VALUE, got {pair!r}")
        if name in out:
            raise SepCLRError(f"{flag} names {name} twice; give it once")
        try:
            out[name] = json.loads(text)
        except json.JSONDecodeError:
            out[name] = text
    return out


def _checked_size(dataset: str, size: str | None) -> str | None:
    """``size`` if ``dataset`` has named sizes; a size for any other is refused."""
    if size is not None and dataset in DATASETS and not DATASETS[dataset].sizes:
        sized = ", ".join(name for name, info in DATASETS.items() if info.sizes)
        raise SepCLRError(f"--size applies to {sized}, not to {dataset}")
    return size


def _settings(args: argparse.Namespace, dataset: str, **extra: Any) -> dict[str, Any]:
    """The checked settings of a new run from the dataset and model flags."""
    options = _pairs("--dataset-option", args.dataset_option)
    if _checked_size(dataset, args.size) is not None:
        if "size" in options:
            raise SepCLRError(
                f"the size is given twice, as --size {args.size} and as --dataset-option "
                f"size={options['size']}; give it once"
            )
        options["size"] = args.size
    return runs.settings(
        dataset,
        params=_model_params(args),
        dataset_options=options,
        data_dir=args.data_dir,
        covariates=_names(args.covariates),
        **extra,
    )


def _names(text: str | None) -> list[str]:
    """A comma-separated list of names."""
    return [name.strip() for name in (text or "").split(",") if name.strip()]


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
    """``sepclr fit``: a new run, or a stopped one resumed; on several processes if asked."""
    if args.resume:
        run = _resumed_run(args)
    elif not (args.dataset or args.preset) or not args.out:
        raise SepCLRError(
            "fit needs --dataset (or --preset) and --out (or --resume DIR to continue a run)"
        )
    else:
        run = _settings(
            args,
            args.dataset or preset(args.preset).dataset,
            method=args.method,
            preset_name=args.preset,
            checkpoint_every=args.checkpoint_every,
        )
    out, resume = Path(args.resume or args.out), bool(args.resume)
    devices = args.devices
    if devices is not None and fit_on_processes(
        run, out, devices, args.argv, resume=resume, overwrite=args.overwrite
    ):
        return
    runs.fit(
        run, out, _options(args), resume=resume, tensorboard=args.tensorboard, processes=devices
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


def cmd_select(args: argparse.Namespace) -> None:
    """``sepclr select``: rank the candidates without labels, keep the best."""
    names = None
    if args.candidates is not None:
        names = [n.strip() for n in args.candidates.split(",") if n.strip()]
        if not names:
            raise SepCLRError(
                "--candidates names no candidate; give some of "
                f"{', '.join(c.name for c in CANDIDATES)}, or leave it out for all"
            )
    run = _settings(args, args.dataset)
    runs.select(
        run, args.out, _options(args), candidates=names, folds=args.folds, screen=args.screen
    )


def cmd_bench(args: argparse.Namespace) -> None:
    """``sepclr bench``: the table of an ablation or of a list of methods."""
    table = bench(
        args.dataset,
        args.out,
        ablation=args.ablation,
        methods=args.methods,
        only=args.only,
        seeds=args.seeds,
        split=args.split,
        size=_checked_size(args.dataset, args.size),
        params=_model_params(args, skip=BENCH_SKIPS),
        covariates=_names(args.covariates),
        data_dir=args.data_dir,
        download=not args.no_download,
    )
    print(table.read_text())


def cmd_download(args: argparse.Namespace) -> None:
    """``sepclr download``: the public files named, into the data folder."""
    for name in args.names:
        print(f"{name}: {download(name, args.data_dir, progress=not args.quiet)}")


def _size_help() -> str:
    """The --size help: each sized dataset's sizes and its builder's own default."""
    described = []
    for name, info in DATASETS.items():
        if info.sizes:
            default = next(d for option, d, _ in dataset_options(name) if option == "size")
            described.append(f"{name} takes {', '.join(info.sizes)} ({default!r} when left out)")
    return "the dataset's size: " + "; ".join(described)


# Flags several commands share: name -> add_argument keywords (a command may override help).
SHARED: dict[str, dict[str, Any]] = {
    "--dataset-option": {
        "action": "append",
        "metavar": "NAME=VALUE",
        "help": "an option of the dataset, e.g. --dataset-option size=64 (repeatable); "
        "`sepclr datasets NAME` lists a dataset's options",
    },
    "--size": {"help": _size_help()},
    "--data-dir": {"help": "where the dataset files are (searched first)"},
    "--no-download": {
        "action": "store_true",
        "help": "never download missing public files (also: SEPCLR_OFFLINE=1)",
    },
    "--overwrite": {"action": "store_true", "help": "replace the run already in --out"},
    "--no-evaluate": {"action": "store_true", "help": "skip the report on the test split"},
    "--plot": {"action": "store_true", "help": "also write the figures (scores.png, spaces.png)"},
    "--quiet": {"action": "store_true", "help": "no progress bar"},
    "--covariates": {
        "metavar": "NAMES",
        "help": "known nuisance factors to keep out of the salient code, comma-separated: "
        "columns of a table-study's table, of an anndata-study's obs, of a nifti-study's "
        "participants table, or a built-in dataset's common factors (synthetic-brain: age, "
        "sex, site; digits-on-fashion: object; synthetic-tabular: shared)",
    },
}


def _shared(parser: argparse.ArgumentParser, *flags: str, **helps: str) -> None:
    """Add the ``SHARED`` flags named; ``helps`` replaces the help of some (``no_download=``)."""
    for flag in flags:
        options = SHARED[flag] | {
            "help": helps.get(flag[2:].replace("-", "_"), SHARED[flag]["help"])
        }
        parser.add_argument(flag, **options)


def _model_flags(parser: argparse.ArgumentParser, whose: str, skip: frozenset[str]) -> None:
    """The model flags but ``skip``, and ``--set``, each for the models ``whose`` names."""
    parser.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help=f"any other parameter of {whose} (JSON value), e.g. --set tc_weight=2; repeatable",
    )
    for flag, (param, kind) in MODEL_FLAGS.items():
        if param not in skip:
            choices = CHOICES.get(param)
            parser.add_argument(flag, type=kind, choices=choices, help=f"{param} of {whose}")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = _Parser(
        prog="sepclr",
        description="Contrastive analysis: separate the patterns a target dataset shares with "
        "a background dataset from those salient to the target.",
    )
    parser.add_argument("--version", action="version", version=f"sepclr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_fit, _add_select, _add_evaluate, _add_transform, _add_explain, _add_bench):
        add(sub)
    fetch = sub.add_parser("download", help="download public files (checksummed, resumable)")
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
    _shared(fetch, "--quiet")
    fetch.set_defaults(func=cmd_download)
    listing = sub.add_parser("datasets", help="list datasets and whether their files are here")
    listing.add_argument("name", nargs="?", help="a dataset: show its options too")
    _shared(listing, "--data-dir")
    listing.set_defaults(func=lambda a: print(describe(a.name, a.data_dir)))
    return parser


Subcommands = Any  # argparse's private _SubParsersAction


def _add_fit(sub: Subcommands) -> None:
    fit = sub.add_parser("fit", help="train a method on a dataset, save it, evaluate it")
    fit.add_argument("--dataset", help="dataset name (see `sepclr datasets`); or --preset")
    fit.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="a SepCLR recipe: the paper's for one of its datasets (its dataset, dims, weights, "
        "batch, epochs, backbone, views), or single-cell, which runs on cells use by "
        "default; other flags override its values",
    )
    fit.add_argument("--method", choices=sorted(METHODS), default="sepclr", help="default: sepclr")
    fit.add_argument("--out", help="directory for the model and its results; required")
    _shared(fit, "--dataset-option", "--size", "--data-dir", "--no-download", "--covariates")
    _model_flags(fit, "the method (default: the method's)", frozenset())
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
        "--devices",
        type=int,
        metavar="N",
        help="train on N processes of this machine (one per GPU, or CPU processes), "
        "the batch size being the global batch; under torchrun, N is its --nproc-per-node",
    )
    _shared(
        fit,
        "--overwrite",
        "--no-evaluate",
        "--plot",
        "--quiet",
        plot="also write training.png, scores.png, spaces.png (and reconstructions.png "
        "for a VAE on images)",
    )
    fit.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write TensorBoard event files of the training curves into OUT/tensorboard",
    )
    fit.set_defaults(func=cmd_fit)


def _add_select(sub: Subcommands) -> None:
    chooser = sub.add_parser(
        "select",
        help="choose SepCLR's settings without labels: train candidates, rank them on "
        "held-out rows, keep the best",
    )
    chooser.add_argument("--dataset", required=True, help="dataset name (see `sepclr datasets`)")
    chooser.add_argument("--out", required=True, help="directory for the ranking and the model")
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
    chooser.add_argument(
        "--screen",
        type=int,
        default=SCREEN,
        help="how many candidates, the best on the first fold, are trained on the other folds "
        f"too (default: {SCREEN}; the number of candidates for a full cross-validation)",
    )
    _shared(chooser, "--dataset-option", "--size", "--data-dir", "--no-download", "--covariates")
    _model_flags(chooser, "every candidate", frozenset())
    _shared(
        chooser, "--overwrite", "--no-evaluate", "--plot", "--quiet", quiet="no line per candidate"
    )
    chooser.set_defaults(func=cmd_select)


def _add_evaluate(sub: Subcommands) -> None:
    evaluate = sub.add_parser("evaluate", help="probe a trained run directory")
    evaluate.add_argument("run_dir", help="directory written by `sepclr fit`")
    _shared(evaluate, "--data-dir", "--plot")
    evaluate.set_defaults(func=lambda a: runs.evaluate(a.run_dir, data_dir=a.data_dir, plot=a.plot))


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
    transform.set_defaults(func=lambda a: runs.transform(a.run_dir, a.input, a.out, a.id_column))


def _add_explain(sub: Subcommands) -> None:
    explainer = sub.add_parser(
        "explain",
        help="attribute a run's salient score to the input features: rankings, maps, loadings",
        epilog="Writes explain.json and attributions.npz; features.csv, loadings.csv and "
        "features.png for tables and cells; maps.png for images; slices.png for volumes; "
        "cells.h5ad for .h5ad input. The baseline is the mean of the run's training backgrounds.",
    )
    explainer.add_argument("run_dir", help="directory written by `sepclr fit`")
    source = explainer.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help=f"the samples to explain: {', '.join(INPUTS)}")
    source.add_argument("--dataset", help="the run's dataset: explain its test split's targets")
    explainer.add_argument("--out", required=True, help="a new folder for the explanation")
    explainer.add_argument(
        "--target",
        default="salient_score",
        help="salient_score (default), common_norm, salient:K or common:K (one dimension)",
    )
    explainer.add_argument(
        "--method",
        choices=ATTRIBUTION_METHODS,
        default="integrated-gradients",
        help="how attributions are computed (default: integrated-gradients)",
    )
    explainer.add_argument(
        "--steps", type=int, default=32, help="points of the integrated-gradients integral"
    )
    explainer.add_argument("--rows", type=int, help="explain only the first ROWS samples")
    explainer.add_argument(
        "--layers",
        action="store_true",
        help=".h5ad input: also write each cell's attributions as layers['sepclr_attribution']",
    )
    explainer.add_argument("--id-column", help="the input table's identifier column")
    explainer.add_argument(
        "--overwrite", action="store_true", help="replace an earlier explanation in --out"
    )
    _shared(explainer, "--data-dir", "--quiet")
    explainer.set_defaults(func=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> None:
    """``sepclr explain``: write the explanation and print where its answers are."""
    request = ExplainRequest(
        target=args.target,
        method=args.method,
        steps=args.steps,
        rows=args.rows,
        layers=args.layers,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    summary = explain_run(
        args.run_dir,
        args.out,
        request,
        input_path=args.input,
        dataset=args.dataset,
        data_dir=args.data_dir,
        id_column=args.id_column,
    )
    print(
        f"{summary['samples']} samples explained ({summary['target']}, {summary['method']}, "
        f"{summary['seconds']:.1f} s); {', '.join(summary['files'])} written to {args.out}"
    )
    if "top_features" in summary:
        print(f"top features: {', '.join(summary['top_features'][:5])}")


def _add_bench(sub: Subcommands) -> None:
    table = sub.add_parser(
        "bench",
        help="train every method or ablation variant x seed, write the table",
        epilog="Model flags go to every method with a parameter of that name; the others keep "
        "their defaults.",
    )
    table.add_argument("--dataset", required=True, help="dataset name (see `sepclr datasets`)")
    what = table.add_mutually_exclusive_group(required=True)
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
    table.add_argument("--only", help="comma-separated subset of the variants")
    table.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per variant")
    table.add_argument("--out", required=True, help="directory for runs and tables (resumable)")
    table.add_argument(
        "--split",
        choices=["test", "validation"],
        default="test",
        help="split the probes are scored on: 'validation' to choose settings without "
        "looking at the test split (synthetic datasets and digits-on-fashion)",
    )
    _shared(
        table,
        "--size",
        "--data-dir",
        "--no-download",
        "--covariates",
        size="size (default here: small)",
    )
    _model_flags(table, "every method that has it", BENCH_SKIPS)
    table.set_defaults(func=cmd_bench)


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` (default: the process's arguments); return its exit status."""
    try:
        with warnings.catch_warnings():
            _warnings_in_one_line()
            args = build_parser().parse_args(argv)
            args.argv = list(sys.argv[1:] if argv is None else argv)
            args.func(args)
    except (TrainingInterruptedError, KeyboardInterrupt) as exc:
        print(f"sepclr: {exc or 'interrupted'}", file=sys.stderr)
        return 130
    except (SepCLRError, OSError) as exc:  # OSError: a file system refusal sepclr did not check
        print(f"sepclr: error: {exc}", file=sys.stderr)
        return 1
    except (MemoryError, torch.OutOfMemoryError) as exc:
        print(f"sepclr: error: out of memory ({_first_line(exc)})", file=sys.stderr)
        return 1
    return 0


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _warnings_in_one_line() -> None:
    """Show sepclr's warnings as ``sepclr: warning: ...`` and no other library's, unless
    the user chose warning filters (``python -W``, ``PYTHONWARNINGS``)."""
    if sys.warnoptions:
        return
    warnings.simplefilter("ignore")
    warnings.simplefilter("always", SepCLRWarning)

    def show(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        print(f"sepclr: warning: {message}", file=sys.stderr)

    warnings.showwarning = show


if __name__ == "__main__":
    sys.exit(main())
