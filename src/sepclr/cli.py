"""Command line: ``sepclr fit | select | evaluate | transform | bench | download | datasets``."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sepclr.bench import ABLATIONS, method_rows, run_table
from sepclr.data.catalog import CADataset, availability, checked_options, dataset_options
from sepclr.data.download import RESOURCES, download, load_or_fetch
from sepclr.engine.distributed import launched_by_torchrun, process_group
from sepclr.engine.files import write_json, write_text
from sepclr.errors import SepCLRError, TrainingInterruptedError
from sepclr.evaluation.diagnostics import (
    clustering_scores,
    clustering_table,
    diagnostics_table,
    label_free_diagnostics,
)
from sepclr.evaluation.report import (
    ideal_row,
    is_continuous,
    markdown_table,
    probe_columns,
    probe_row,
)
from sepclr.evaluation.supervised import attribute_report
from sepclr.evaluation.training_log import check_tensorboard, write_metrics, write_tensorboard
from sepclr.export import ID_COLUMNS, INPUTS, OUTPUTS, read_samples, write_codes
from sepclr.methods import ContrastiveEstimator, SepCLR, TrainedEstimator
from sepclr.methods import load as load_model
from sepclr.methods.sepclr import OBJECTIVES, RESIDUALS
from sepclr.objectives import INDEPENDENCE_TERMS
from sepclr.presets import PRESETS, preset
from sepclr.registry import DATASETS, METHODS
from sepclr.run_folder import (
    CHECKPOINT_DIR,
    RUN_FILE,
    SELECTION_FILES,
    check_new_out,
    claim,
    read_run,
)
from sepclr.selection import CANDIDATES, ranking_table, select

# dataset options that name a file: stored absolute in run.json
PATH_OPTIONS = frozenset({"table", "file"})


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


def _method(name: str) -> type[ContrastiveEstimator]:
    method: type[ContrastiveEstimator] = METHODS[name].cls
    return method


def _load_splits(
    run: dict[str, Any], data_dir: str | None, fetch: bool = True
) -> tuple[CADataset, CADataset]:
    options = run.get("dataset_options", {})
    train = load_or_fetch(run["dataset"], data_dir, "train", options, fetch)
    test = load_or_fetch(run["dataset"], data_dir, "test", options, fetch)
    return train, test


def _known_attributes(model: Any, data: CADataset) -> dict[str, Any]:
    """``fit``'s ``attributes=`` for a supervised SepCLR (its salient attributes taken from
    the dataset's target factors); empty otherwise."""
    names = model.get_params().get("salient_attributes") or {}
    missing = sorted(set(names) - set(data.factors))
    if missing:
        raise SepCLRError(f"{data.name} has no factor {missing} for salient_attributes")
    return {"attributes": {name: data.factors[name] for name in names}} if names else {}


def _evaluate(
    model: Any,
    out: Path,
    run: dict[str, Any],
    data_dir: str | None,
    plot: bool,
    splits: tuple[CADataset, CADataset] | None = None,
) -> None:
    """Probe ``model`` on the run's dataset (its ``splits``, train and test, when they are
    already loaded), add the label-free diagnostics, and write the results next to it."""
    train, test = splits or _load_splits(run, data_dir)
    document: dict[str, Any] = {"dataset": run["dataset"], "run": run}
    diagnostics = label_free_diagnostics(
        model, (train.background, train.target), (test.background, test.target)
    )
    document["diagnostics"] = diagnostics
    sections = [
        "Label-free diagnostics (test split; no factor labels used):\n\n"
        + diagnostics_table(diagnostics)
    ]
    if probe_columns(test):
        sections.insert(0, _probe_report(model, run["dataset"], (train, test), document))
    else:
        print(f"no factors to probe: {run['dataset']} labels none of its samples")
    text = "\n\n".join(sections)
    write_json(out / "results.json", document)
    write_text(out / "results.md", text + "\n")
    print(text)
    if plot:
        from sepclr.evaluation.plots import (  # matplotlib
            plot_reconstructions,
            plot_salient_scores,
            plot_spaces,
        )

        title = f"{run['dataset']} (test split)"
        print(f"plot written to {plot_salient_scores(model, test, out / 'scores.png', title)}")
        if test.roles:
            print(f"plot written to {plot_spaces(model, test, out / 'spaces.png', title)}")
        if model.reconstructs and test.target.ndim == 4:
            grid = plot_reconstructions(model, test, out / "reconstructions.png")
            print(f"reconstructions written to {grid}")


def _probe_report(
    model: Any, dataset: str, splits: tuple[CADataset, CADataset], document: dict[str, Any]
) -> str:
    """The probe table (the model, its untrained floor, the ideal row), the clustering
    metrics and supervised SepCLR's attribute table, added to ``document``."""
    train, test = splits
    rows = {f"{type(model).__name__} ({dataset})": probe_row(model, train, test)}
    if isinstance(model, TrainedEstimator):  # the same architecture untrained
        floor = model.untrained()
        floor.fit(train.background, train.target, **_known_attributes(model, train))
        rows["untrained encoder (floor)"] = probe_row(floor, train, test)
    rows["best expected"] = ideal_row(test)
    document["rows"] = rows
    table = markdown_table(rows, probe_columns(test))
    if test.label_names:
        document["labels"] = test.label_names
        table += "".join(
            f"\n\n{factor}: " + ", ".join(f"{k} {name}" for k, name in enumerate(names))
            for factor, names in test.label_names.items()
        )
    classes = {f: v for f, v in test.factors.items() if f in test.roles and not is_continuous(v)}
    if classes:
        common, salient = model.transform(test.target)
        clustering = clustering_scores(common, salient, classes)
        document["clustering"] = clustering
        table += "\n\nClustering of the test targets:\n\n" + clustering_table(clustering)
    kinds = model.get_params().get("salient_attributes")
    if kinds:
        train_known = _known_attributes(model, train)["attributes"]
        test_known = _known_attributes(model, test)["attributes"]
        report = attribute_report(
            model, kinds, (train.target, train_known), (test.target, test_known)
        )
        document["attributes"] = report
        table += "\n\nSalient attributes (supervised):\n\n" + markdown_table(
            report, ["rho_dim", "rho_other", "S", "C"]
        )
    return table


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


def _run_options(
    dataset: str, args: argparse.Namespace, given: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The dataset options of a new run: ``given`` (a preset's), then ``--size`` and
    ``--dataset-option`` pairs, checked, with file options made absolute."""
    options = {
        **(given or {}),
        **_dataset_options(dataset, args.size),
        **_pairs("--dataset-option", args.dataset_option),
    }
    if dataset in DATASETS:
        options = checked_options(dataset, options)
    for name in PATH_OPTIONS & set(options):  # absolute, so the run reads from anywhere
        base = Path(args.data_dir) if args.data_dir else Path.cwd()
        options[name] = str((base / str(options[name])).absolute())
    return options


def _new_run(args: argparse.Namespace) -> dict[str, Any]:
    recipe = preset(args.preset) if args.preset else None
    dataset = args.dataset or (recipe.dataset if recipe else None)
    if not dataset or not args.out:
        raise SepCLRError(
            "fit needs --dataset (or --preset) and --out (or --resume DIR to continue a run)"
        )
    if recipe is not None and args.method != "sepclr":
        raise SepCLRError(f"--preset {args.preset} is a SepCLR recipe; leave out --method")
    method = _method(args.method)
    params = {**(recipe.params if recipe else {}), **_model_params(args)}
    accepted = method().get_params()
    unused = sorted(set(params) - set(accepted))
    if unused:
        raise SepCLRError(
            f"{method.__name__} has no parameter {', '.join(unused)}; its parameters are "
            f"{', '.join(accepted)}"
        )
    given = recipe.dataset_options if recipe and dataset == recipe.dataset else {}
    return {
        "dataset": dataset,
        "dataset_options": _run_options(dataset, args, given),
        "method": args.method,
        "preset": args.preset,
        "params": params,
        "checkpoint_every": args.checkpoint_every,
    }


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
    run_path = out / RUN_FILE
    run = read_run(out)
    defaults = vars(build_parser().parse_args(["fit", "--resume", str(out)]))
    changed = sorted(
        k for k, v in vars(args).items() if k not in RESUME_OPTIONS and v != defaults.get(k)
    )
    if changed:
        flags = ", ".join("--" + k.replace("_", "-") for k in changed)
        raise SepCLRError(f"--resume continues with the settings in {run_path}; leave out {flags}")
    if run["method"] not in METHODS:
        raise SepCLRError(f"{run_path} names the method {run['method']!r}, unknown to this sepclr")
    if args.device is not None:
        run["params"]["device"] = args.device
    method = _method(run["method"])
    if not method.trains_by_epochs:
        raise SepCLRError(f"{method.__name__} is fitted in one step; there is nothing to resume")
    if not TrainedEstimator.has_checkpoint(out / CHECKPOINT_DIR):
        raise SepCLRError(
            f"--resume {out}: no checkpoint yet (the run stopped before its first one); "
            "start it again without --resume"
        )
    return run


def cmd_fit(args: argparse.Namespace) -> None:
    if args.devices is not None and args.devices < 1:
        raise SepCLRError(f"--devices is a number of processes, at least 1; got {args.devices}")
    if args.devices is not None and args.devices > 1 and not launched_by_torchrun():
        run = _resumed_run(args) if args.resume else _new_run(args)
        if not args.resume:
            check_new_out(Path(args.out), args.overwrite)
        _check_processes(_method(run["method"]), args.devices)
        _relaunch_on_processes(args.devices, args.argv)
        return
    with process_group() as shard:
        if args.devices is not None and args.devices != shard.world_size:
            raise SepCLRError(
                f"--devices {args.devices} but torchrun started {shard.world_size} process(es); "
                "give one number (torchrun --nproc-per-node, or --devices without torchrun)"
            )
        model, run, out, splits = _fit(args, shard.rank, shard.world_size)
    if shard.rank != 0:  # the first process writes the results, in one process
        return
    model.save(out)
    write_json(out / RUN_FILE, run)
    print(f"model saved to {out} (training took {run['fit_seconds']} s)")
    if isinstance(model, TrainedEstimator):
        _write_training_log(model, out, args)
    if not args.no_evaluate:
        _evaluate(model, out, run, args.data_dir, args.plot, splits)


def _write_training_log(model: TrainedEstimator, out: Path, args: argparse.Namespace) -> None:
    """``metrics.csv``, and with ``--plot`` the curves, with ``--tensorboard`` event files."""
    write_metrics(out, model.history_)
    if args.plot:
        from sepclr.evaluation.plots import plot_training  # matplotlib

        plot_training(model.history_, out / "training.png", title=type(model).__name__)
    if args.tensorboard:
        print(f"TensorBoard files written to {write_tensorboard(out, model.history_)}")


def _check_processes(method: type[ContrastiveEstimator], processes: int) -> None:
    if processes > 1 and not method.supports_processes:
        raise SepCLRError(
            f"{method.__name__} trains in one process; leave out --devices / torchrun"
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


def _fit(
    args: argparse.Namespace, rank: int, world_size: int
) -> tuple[ContrastiveEstimator, dict[str, Any], Path, tuple[CADataset, CADataset] | None]:
    """Train the run's model (in every process of a multi-process run); returns it, the
    run's settings, its directory and the train and test splits to evaluate it on (None with
    ``--no-evaluate``). Everything is checked (the folder, the parameters, the data) before
    anything is written."""
    run = _resumed_run(args) if args.resume else _new_run(args)
    out = Path(args.resume or args.out)
    if not args.resume and rank == 0:
        check_new_out(out, args.overwrite)
    if args.tensorboard:
        check_tensorboard()
    method = _method(run["method"])
    _check_processes(method, world_size)
    model = method(**run["params"])
    model.validate_params()
    train = _load(run, args, "train")
    # loaded before training, so that a corrupt test split is found before any work
    splits = None if args.no_evaluate else (train, _load(run, args, "test"))
    fit_options = _fit_options(model, run, out, args, train)
    run["processes"] = world_size
    created = False
    if rank == 0:
        created = False if args.resume else claim(out, args.overwrite)
        write_json(out / RUN_FILE, run)  # before training, so that --resume finds the settings
    start = time.perf_counter()
    try:
        model.fit(train.background, train.target, **fit_options)
    except TrainingInterruptedError as exc:
        raise TrainingInterruptedError(
            f"{exc}; continue with `sepclr fit --resume {out}`"
        ) from None
    except SepCLRError:
        # refused before its first checkpoint (bad data): leave no run behind
        if (
            rank == 0
            and not args.resume
            and not TrainedEstimator.has_checkpoint(out / CHECKPOINT_DIR)
        ):
            shutil.rmtree(out, ignore_errors=True) if created else (out / RUN_FILE).unlink()
        raise
    trained = isinstance(model, TrainedEstimator)
    seconds = model.train_seconds_ if trained else time.perf_counter() - start
    run["fit_seconds"] = round(seconds, 1)
    return model, run, out, splits


def _load(run: dict[str, Any], args: argparse.Namespace, split: str) -> CADataset:
    return load_or_fetch(
        run["dataset"], args.data_dir, split, run["dataset_options"], not args.no_download
    )


def _fit_options(
    model: ContrastiveEstimator,
    run: dict[str, Any],
    out: Path,
    args: argparse.Namespace,
    train: CADataset,
) -> dict[str, Any]:
    """``fit``'s keyword arguments: checkpoints in OUT/checkpoint for a method trained by
    epochs, and supervised SepCLR's known attributes."""
    options = _known_attributes(model, train)
    if isinstance(model, TrainedEstimator):
        model.set_params(verbose=not args.quiet)
        options |= {
            "checkpoint_dir": out / CHECKPOINT_DIR,
            "checkpoint_every": run["checkpoint_every"],
            "resume": bool(args.resume),
        }
    return options


def cmd_evaluate(args: argparse.Namespace) -> None:
    out = Path(args.run_dir)
    run = read_run(out)
    model = load_model(out)
    _evaluate(model, out, run, args.data_dir, args.plot)


def cmd_transform(args: argparse.Namespace) -> None:
    out = Path(args.run_dir)
    run = read_run(out)
    model = load_model(out)
    options = dict(run["dataset_options"])
    samples = read_samples(Path(args.input), run["dataset"], options, args.id_column)
    common, salient = model.transform(samples.x)
    path = write_codes(Path(args.out), common, salient, samples)
    print(f"{len(common)} samples' codes written to {path}")


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
    out = Path(args.out)
    check_new_out(out, args.overwrite)
    params = _model_params(args)
    unused = sorted(set(params) - set(SepCLR().get_params()))
    if unused:
        raise SepCLRError(f"SepCLR has no parameter {', '.join(unused)}")
    run: dict[str, Any] = {
        "dataset": args.dataset,
        "dataset_options": _run_options(args.dataset, args),
        "method": "sepclr",
        "preset": None,
        "params": params,
        "checkpoint_every": 1,
    }
    train = _load(run, args, "train")
    splits = None if args.no_evaluate else (train, _load(run, args, "test"))
    names = [n.strip() for n in args.candidates.split(",")] if args.candidates else None
    log = None if args.quiet else print
    start = time.perf_counter()
    found = select(
        train.background,
        train.target,
        names,
        {**params, "verbose": False},
        args.folds,
        train.subjects,
        int(params.get("seed", 0)),
        log=log,
    )
    claim(out, args.overwrite)
    found.model.save(out)
    chosen = next(row["params"] for row in found.ranking if row["name"] == found.chosen)
    run["params"] = {**params, **chosen}
    run["selection"] = {"chosen": found.chosen, "folds": found.folds}
    run["fit_seconds"] = round(time.perf_counter() - start, 1)
    write_json(out / RUN_FILE, run)
    table = ranking_table(found)
    write_text(out / SELECTION_FILES[0], table + "\n")
    write_json(
        out / SELECTION_FILES[1],
        {"chosen": found.chosen, "folds": found.folds, "ranking": found.ranking},
    )
    print(table)
    print(f"chosen: {found.chosen}; model saved to {out}")
    if not args.no_evaluate:
        _evaluate(found.model, out, run, args.data_dir, args.plot, splits)


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
    chooser.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="a SepCLR parameter for every candidate (JSON value), repeatable",
    )
    for flag, (param, kind) in MODEL_FLAGS.items():
        chooser.add_argument(flag, type=kind, help=f"{param} of every candidate")
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
    bench.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="any other model parameter of every method that has it (JSON values), repeatable",
    )
    for flag, (param, kind) in MODEL_FLAGS.items():
        if param not in ("independence", "seed"):
            bench.add_argument(
                flag, type=kind, help=f"{param} of every method that has it (default: each's)"
            )
    bench.set_defaults(func=cmd_bench)


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
