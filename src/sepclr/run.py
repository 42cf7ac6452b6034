"""Runs: the application behind ``sepclr fit``, ``select``, ``evaluate`` and ``transform``,
for Python as for the command line. The folder a run writes is :mod:`sepclr.run_folder`, its
training log :mod:`sepclr.run_log`, and training on several processes :mod:`sepclr.launch`.

A run is described by its settings, the document stored as ``run.json``: the dataset and
its options, the method, the preset, the parameters and the checkpoint interval. ::

    from sepclr import run

    settings = run.settings("synthetic-tabular", params={"epochs": 10})
    model = run.fit(settings, "runs/tab")      # = sepclr fit --dataset synthetic-tabular ...
    run.fit(settings, "runs/tab", run.Options(overwrite=True, plot=True))
    document = run.evaluate("runs/tab")        # = sepclr evaluate runs/tab
    run.transform("runs/tab", "new.csv", "codes.csv")

Everything is checked (the folder, the parameters, the data) before anything is written,
a run folder is held by one command at a time, and a run refused before its first checkpoint
leaves the folder as it found it (:class:`sepclr.run_folder.RunFolder`).
"""

import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sepclr.data.catalog import CADataset, checked_options
from sepclr.data.catalog import dataset_options as builder_options
from sepclr.data.download import load_or_fetch
from sepclr.engine.distributed import process_group
from sepclr.engine.files import write_json, write_text
from sepclr.engine.loop import StopRequest
from sepclr.engine.shard import Shard
from sepclr.errors import InvalidInputError, SepCLRError, TrainingInterruptedError
from sepclr.evaluation.run_report import fit_inputs, model_report
from sepclr.export import samples_for_model, write_codes
from sepclr.methods import ContrastiveEstimator, SepCLR, TrainedEstimator
from sepclr.methods import load as load_model
from sepclr.methods.base import check_processes
from sepclr.recipes import preset
from sepclr.registry import DATASETS, METHODS
from sepclr.run_folder import (
    CHECKPOINT_DIR,
    RECONSTRUCTIONS_PLOT,
    RESULTS_JSON,
    RESULTS_MD,
    RUN_FILE,
    SCORES_PLOT,
    SELECTION_JSON,
    SELECTION_MD,
    SPACES_PLOT,
    TRAINING_PLOT,
    UMAP_PLOT,
    RunFolder,
    has_checkpoint,
    read_run,
)
from sepclr.run_log import check_tensorboard, write_metrics, write_tensorboard
from sepclr.selection import SCREEN, Selection, ranking_table
from sepclr.selection import select as select_settings

# --- settings ----------------------------------------------------------------------------------


def method_class(name: str) -> type[ContrastiveEstimator]:
    """The estimator class of a method."""
    if name not in METHODS:
        raise SepCLRError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    method: type[ContrastiveEstimator] = METHODS[name].cls
    return method


def _check_param_names(cls: type[ContrastiveEstimator], params: dict[str, Any], where: str) -> None:
    """Refuse parameters ``cls`` does not have, naming ``where`` they came from."""
    accepted = cls().get_params()
    unused = sorted(set(params) - set(accepted))
    if unused:
        raise SepCLRError(
            f"{where}: {cls.__name__} has no parameter {', '.join(unused)}; its parameters are "
            f"{', '.join(accepted)}"
        )


def settings(
    dataset: str | None = None,
    *,
    method: str = "sepclr",
    preset_name: str | None = None,
    params: dict[str, Any] | None = None,
    dataset_options: dict[str, Any] | None = None,
    checkpoint_every: int = 1,
    data_dir: str | Path | None = None,
    covariates: list[str] | None = None,
) -> dict[str, Any]:
    """The checked settings of a new run: the document ``run.json`` stores.

    Parameters
    ----------
    dataset : str, optional
        The dataset (``sepclr datasets``); the preset's when omitted.
    method : str
        The method (:data:`sepclr.registry.METHODS`).
    preset_name : str, optional
        One of SepCLR's recipes (:mod:`sepclr.recipes`): its dataset, dataset options and
        parameters, which ``dataset``, ``dataset_options`` and ``params`` override. A SepCLR
        run on a dataset with a default recipe (cells: ``"single-cell"``) uses it when none
        is named.
    params : dict, optional
        The method's parameters.
    dataset_options : dict, optional
        Options of the dataset's builder. Those that name a file are made absolute (relative
        to ``data_dir``, else the working directory), so the run reads from anywhere.
    checkpoint_every : int
        Epochs between two checkpoints.
    data_dir : str or Path, optional
        The folder searched first for the dataset's files.
    covariates : list of str, optional
        Known nuisance factors to keep out of the salient code: common factors of the
        dataset known in both groups (a table's or an AnnData's columns are added to its
        ``factors``).

    Returns
    -------
    dict
        The settings: dataset, dataset options, method, preset, parameters, checkpoint
        interval, covariates.

    Raises
    ------
    SepCLRError
        For an unknown method or dataset, a parameter the method does not have, or a preset
        with another method.
    """
    if preset_name is None and method == "sepclr" and dataset in DATASETS:
        preset_name = DATASETS[dataset].preset
    recipe = preset(preset_name) if preset_name else None
    dataset = dataset or (recipe.dataset if recipe else None)
    if not dataset:
        raise SepCLRError("a run needs a dataset (or a preset)")
    if recipe is not None and method != "sepclr":
        raise SepCLRError(
            f"the preset {preset_name} is a SepCLR recipe; leave out the method (--method)"
        )
    cls = method_class(method)
    merged = {**(recipe.params if recipe else {}), **(params or {})}
    _check_param_names(cls, merged, "the settings")
    if cls.trains_by_epochs and merged.get("epochs") == 0:
        raise SepCLRError(
            "epochs=0 trains nothing; give 1 or more (every report already shows the untrained "
            "encoder as its floor)"
        )
    given = recipe.dataset_options if recipe and dataset == recipe.dataset else {}
    options = {**given, **(dataset_options or {})}
    path_options: tuple[str, ...] = ()
    if dataset in DATASETS:
        options = checked_options(dataset, options)
        path_options = DATASETS[dataset].path_options
    for name in set(path_options) & set(options):
        base = Path(data_dir) if data_dir else Path.cwd()
        options[name] = str((base / str(options[name])).absolute())
    covariates = list(dict.fromkeys(covariates or []))
    builder = {o: d for o, d, _ in builder_options(dataset)} if dataset in DATASETS else {}
    if covariates and "factors" in builder:
        factors = list(options.get("factors", builder["factors"]))
        options["factors"] = list(dict.fromkeys([*factors, *covariates]))
    return {
        "dataset": dataset,
        "dataset_options": options,
        "method": method,
        "preset": preset_name,
        "params": merged,
        "checkpoint_every": checkpoint_every,
        "covariates": covariates,
    }


def resumable(out: str | Path, device: str | None = None) -> dict[str, Any]:
    """The settings of a stopped run, checked for a resumption.

    Parameters
    ----------
    out : str or Path
        The run folder.
    device : str, optional
        Replaces the device the run trained on.

    Returns
    -------
    dict
        The settings of its ``run.json``.

    Raises
    ------
    SepCLRError
        When the method is not trained by epochs, or no checkpoint was written yet.
    """
    out = Path(out)
    run = read_run(out)
    if run["method"] not in METHODS:
        raise SepCLRError(
            f"{out / RUN_FILE} names the method {run['method']!r}, unknown to this sepclr"
        )
    if device is not None:
        run["params"]["device"] = device
    cls = method_class(run["method"])
    _check_param_names(cls, run["params"], str(out / RUN_FILE))
    if not cls.trains_by_epochs:
        raise SepCLRError(f"{cls.__name__} is fitted in one step; there is nothing to resume")
    if not has_checkpoint(out):
        raise SepCLRError(
            f"--resume {out}: no checkpoint yet (the run stopped before its first one); "
            "start it again without --resume"
        )
    return run


def load_split(
    run: dict[str, Any], split: str, data_dir: str | Path | None = None, download: bool = True
) -> CADataset:
    """One split of the run's dataset."""
    return load_or_fetch(
        run["dataset"],
        None if data_dir is None else str(data_dir),
        split,
        run.get("dataset_options", {}),
        download,
    )


# --- fit, select, evaluate, transform ----------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """How a run finds its data and what it writes.

    Parameters
    ----------
    data_dir : str or Path, optional
        Searched first for the dataset's files.
    download : bool
        Download the public files that are missing.
    overwrite : bool
        Replace the run already in the folder.
    verbose : bool
        Show progress.
    evaluate : bool
        Write the report after training.
    plot : bool
        Also draw its figures.
    """

    data_dir: str | Path | None = None
    download: bool = True
    overwrite: bool = False
    verbose: bool = True
    evaluate: bool = True
    plot: bool = False


def fit(
    run: dict[str, Any],
    out: str | Path,
    options: Options = Options(),
    *,
    resume: bool = False,
    tensorboard: bool = False,
    processes: int | None = None,
) -> ContrastiveEstimator:
    """Train the model of ``run`` into ``out``, as ``sepclr fit`` does.

    The folder is held for the whole command (:class:`sepclr.run_folder.RunFolder`).
    Checkpoints go into ``out/checkpoint``, ``run.json`` is written before training, then the
    model, the training log and, with ``options.evaluate``, the report. Under ``torchrun``
    every process trains and the first one writes. SIGINT or SIGTERM after the last step lets
    the model be saved, then stops with :class:`sepclr.errors.TrainingInterruptedError`.

    Parameters
    ----------
    run : dict
        The settings, from :func:`settings` (or :func:`resumable` with ``resume``).
    out : str or Path
        The run folder.
    options : Options
        Where the data are and what is written.
    resume : bool
        Continue the stopped run in ``out`` from its checkpoint.
    tensorboard : bool
        Also write TensorBoard event files of the training curves.
    processes : int, optional
        The number of processes torchrun started, checked when given.

    Returns
    -------
    ContrastiveEstimator
        The trained model.
    """
    out = Path(out)
    if tensorboard:
        check_tensorboard()
    trained = method_class(run["method"]).trains_by_epochs
    with ExitStack() as held, StopRequest(trained) as stop:
        with process_group() as shard:
            if processes is not None and processes != shard.world_size:
                raise SepCLRError(
                    f"--devices {processes} but torchrun started {shard.world_size} "
                    "process(es); give one number (torchrun --nproc-per-node, or --devices "
                    "without torchrun)"
                )
            if shard.rank == 0:
                held.enter_context(RunFolder(out, new=not resume, overwrite=options.overwrite))
            model, run, splits = _train(run, out, options, resume, shard)
        if shard.rank != 0:  # the first process writes the results, in one process
            return model
        with StopRequest() as saving:
            model.save(out)
            write_json(out / RUN_FILE, run)
            if isinstance(model, TrainedEstimator):
                _write_training_log(model, out, options.plot, tensorboard)
        print(f"model saved to {out} (training took {run['fit_seconds']} s)")
        _stop_if_asked(stop.signal or saving.signal, out, reported=False)
        if splits is not None:
            _report(model, out, run, splits, options.plot)
        _stop_if_asked(stop.signal, out, reported=True)
    return model


def _stop_if_asked(signal_name: str | None, out: Path, reported: bool) -> None:
    """Raise the interruption that a signal received while the results were written asks for."""
    if signal_name is not None:
        written = "model and its report are" if reported else "model is"
        hint = "" if reported else f" (`sepclr evaluate {out}` writes its report)"
        raise TrainingInterruptedError(
            f"stopped by {signal_name} after training; the {written} saved in {out}{hint}"
        )


def _train(
    run: dict[str, Any], out: Path, options: Options, resume: bool, shard: Shard
) -> tuple[ContrastiveEstimator, dict[str, Any], tuple[CADataset, CADataset] | None]:
    """Check, then train the run's model in this process; returns it, the settings with the
    training time, and the splits to evaluate it on (None without ``options.evaluate``)."""
    cls = method_class(run["method"])
    check_processes(cls, shard.world_size)
    _check_param_names(cls, run["params"], "the run's settings")
    model = cls(**run["params"])
    model.validate_params()
    train, splits = _splits(run, options)
    _check_preset_fits(run, train)
    if train.preparation is not None and options.verbose and shard.rank == 0:
        print(f"{train.preparation.describe()} (recorded in run.json as cell_preparation)")
    covariates = list(run.get("covariates") or [])
    fit_options = fit_inputs(model, train, covariates)
    if isinstance(model, TrainedEstimator):
        model.set_params(verbose=options.verbose)
        fit_options |= {
            "checkpoint_dir": out / CHECKPOINT_DIR,
            "checkpoint_every": run["checkpoint_every"],
            "resume": resume,
        }
    run = {**run, "processes": shard.world_size}
    if shard.rank == 0:
        write_json(out / RUN_FILE, run)  # before training, so that a resumption finds it
    start = time.perf_counter()
    try:
        model.fit(train.background, train.target, **fit_options)
    except TrainingInterruptedError as exc:
        raise TrainingInterruptedError(
            exc.stopped, f"`sepclr fit --resume {out}` continues from it"
        ) from None
    _keep_feature_names(model, train)
    if train.preparation is not None:
        run["cell_preparation"] = train.preparation.as_json()
    if hasattr(model, "covariates_"):
        run["covariate_encoding"] = model.covariates_.as_json()
    trained = isinstance(model, TrainedEstimator)
    seconds = model.train_seconds_ if trained else time.perf_counter() - start
    run["fit_seconds"] = round(seconds, 1)
    return model, run, splits


def select(
    run: dict[str, Any],
    out: str | Path,
    options: Options = Options(),
    *,
    candidates: list[str] | None = None,
    folds: int | None = None,
    screen: int | None = SCREEN,
) -> Selection:
    """Choose SepCLR's settings without labels, as ``sepclr select`` does.

    The candidates are ranked on the train split of ``run``'s dataset
    (:func:`sepclr.selection.select`); the ranking, the chosen model refitted on every train
    row, its ``run.json`` and, with ``options.evaluate``, the report go into ``out``.

    Parameters
    ----------
    run : dict
        The settings, from :func:`settings`; every candidate keeps ``run["params"]``.
    out : str or Path
        The run folder.
    options : Options
        Where the data are and what is written.
    candidates : list of str, optional
        Names of :data:`sepclr.recipes.CANDIDATES` (all by default).
    folds : int, optional
        Cross-validation folds (by default 3 on small data, else 1).
    screen : int, optional
        How many candidates, the best on the first fold, are scored on the other folds too
        (None: every one).

    Returns
    -------
    Selection
        The ranking and the chosen model.
    """
    out = Path(out)
    params = run["params"]
    _check_param_names(SepCLR, params, "the settings")
    with RunFolder(out, new=True, overwrite=options.overwrite):
        return _select(run, out, options, candidates, folds, screen)


def _select(
    run: dict[str, Any],
    out: Path,
    options: Options,
    candidates: list[str] | None,
    folds: int | None,
    screen: int | None,
) -> Selection:
    params = run["params"]
    train, splits = _splits(run, options)
    start = time.perf_counter()
    found = select_settings(
        train.background,
        train.target,
        candidates,
        {**params, "verbose": False},
        folds,
        train.subjects,
        int(params.get("seed", 0)),
        log=print if options.verbose else None,
        covariates=train.covariates(run["covariates"]) if run.get("covariates") else None,
        screen=screen,
        progress=options.verbose,
    )
    _keep_feature_names(found.model, train)
    found.model.save(out)
    chosen = next(row["params"] for row in found.ranking if row["name"] == found.chosen)
    if train.preparation is not None:
        run = {**run, "cell_preparation": train.preparation.as_json()}
    run = {
        **run,
        "params": {**params, **chosen},
        "selection": {"chosen": found.chosen, "folds": found.folds, "screen": screen},
        "fit_seconds": round(time.perf_counter() - start, 1),
    }
    write_json(out / RUN_FILE, run)
    table = ranking_table(found)
    write_text(out / SELECTION_MD, table + "\n")
    write_json(
        out / SELECTION_JSON,
        {"chosen": found.chosen, "folds": found.folds, "screen": screen, "ranking": found.ranking},
    )
    print(table)
    print(f"chosen: {found.chosen}; model saved to {out}")
    if splits is not None:
        _report(found.model, out, run, splits, options.plot)
    return found


def evaluate(
    run_dir: str | Path, *, data_dir: str | Path | None = None, plot: bool = False
) -> dict[str, Any]:
    """Probe and diagnose the model of a run on its dataset's test split, as ``sepclr evaluate``
    does.

    Parameters
    ----------
    run_dir : str or Path
        A folder written by :func:`fit` or :func:`select`.
    data_dir : str or Path, optional
        Searched first for the dataset's files.
    plot : bool
        Also draw the figures.

    Returns
    -------
    dict
        The results document, also written as ``results.json`` and ``results.md``.
    """
    out = Path(run_dir)
    run = read_run(out)
    with RunFolder(out, new=False):
        model = load_model(out)
        splits = (load_split(run, "train", data_dir), load_split(run, "test", data_dir))
        return _report(model, out, run, splits, plot)


def transform(
    run_dir: str | Path, samples: str | Path, codes: str | Path, id_column: str | None = None
) -> Path:
    """Encode a file of samples with the model of a run, as ``sepclr transform`` does.

    Parameters
    ----------
    run_dir : str or Path
        A folder written by :func:`fit` or :func:`select`.
    samples : str or Path
        The samples (see :func:`sepclr.export.read_samples`).
    codes : str or Path
        Where both codes and the salient scores go (see :func:`sepclr.export.write_codes`).
    id_column : str, optional
        The samples table's identifier column.

    Returns
    -------
    Path
        The file written.
    """
    out = Path(run_dir)
    run = read_run(out)
    model = load_model(out)
    read = samples_for_model(model, run, Path(samples), id_column)
    common, salient = model.transform(read.x)
    path = write_codes(Path(codes), common, salient, read)
    print(f"{len(common)} samples' codes written to {path}")
    return path


def _check_preset_fits(run: dict[str, Any], train: CADataset) -> None:
    """Refuse, naming the preset, a preset's settings that cannot take another dataset's
    samples (image views or a ResNet on a table)."""
    name = run.get("preset")
    if not name or preset(name).dataset == run["dataset"]:
        return
    try:
        SepCLR(**run["params"]).resolve_fit(tuple(train.target.shape[1:]))
    except InvalidInputError as exc:
        raise InvalidInputError(
            f"--preset {name} is made for {preset(name).dataset}, and its settings do not suit "
            f"{run['dataset']}: {exc}; override them (--set views=null for the default views, "
            "--backbone auto) or leave out --preset"
        ) from None


def _keep_feature_names(model: ContrastiveEstimator, train: CADataset) -> None:
    """Give ``model`` the dataset's feature names, so that ``transform`` reads new tables
    and cells by name, and its cell preparation, so that it prepares new cells."""
    if train.feature_names is not None:
        model.feature_names_in_ = np.asarray(train.feature_names, dtype=object)
    if train.preparation is not None:
        model.preparation_ = train.preparation


def _splits(
    run: dict[str, Any], options: Options
) -> tuple[CADataset, tuple[CADataset, CADataset] | None]:
    """The train split, and both splits to report on (None without ``options.evaluate``),
    loaded before any training so that a corrupt test split is found first."""
    train = load_split(run, "train", options.data_dir, options.download)
    _check_group_sizes(train, MIN_TRAIN_ROWS)
    if not options.evaluate:
        return train, None
    test = load_split(run, "test", options.data_dir, options.download)
    _check_group_sizes(test, MIN_TEST_ROWS)
    return train, (train, test)


MIN_TRAIN_ROWS, MIN_TEST_ROWS = 5, 2


def _check_group_sizes(data: CADataset, least: int) -> None:
    """Refuse a split with a group too small to train on (train) or to score (test)."""
    for group, rows in (("background", data.background), ("target", data.target)):
        if len(rows) < least:
            raise InvalidInputError(
                f"{data.name}'s {data.split} split holds {len(rows)} {group} row(s); a run "
                f"needs at least {least} in each group there: check the group column and its "
                "values, give more samples, or change test_fraction"
            )


def _report(
    model: Any, out: Path, run: dict[str, Any], splits: tuple[CADataset, CADataset], plot: bool
) -> dict[str, Any]:
    """Write the report (and with ``plot`` its figures) into ``out``; print it."""
    document, text = model_report(model, run["dataset"], splits, run)
    write_json(out / RESULTS_JSON, document)
    write_text(out / RESULTS_MD, text + "\n")
    print(text)
    if plot:
        from sepclr.evaluation.plots import (  # matplotlib
            plot_reconstructions,
            plot_salient_scores,
            plot_spaces,
        )

        test = splits[1]
        title = f"{run['dataset']} (test split)"
        print(f"plot written to {plot_salient_scores(model, test, out / SCORES_PLOT, title)}")
        if test.roles:
            print(f"plot written to {plot_spaces(model, test, out / SPACES_PLOT, title)}")
        if test.preparation is not None or run["dataset"] == "anndata-study":
            _plot_umaps(model, test, out / UMAP_PLOT, title)
        if model.reconstructs and test.target.ndim == 4:
            grid = plot_reconstructions(model, test, out / RECONSTRUCTIONS_PLOT)
            print(f"reconstructions written to {grid}")
    return document


def _plot_umaps(model: Any, test: CADataset, path: Path, title: str) -> None:
    """The cells' UMAPs, when umap-learn is there."""
    from sepclr.evaluation.plots import plot_cell_umaps  # matplotlib

    try:
        print(f"plot written to {plot_cell_umaps(model, test, path, title)}")
    except ImportError:
        print("no UMAP plot: it needs umap-learn (pip install 'sepclr[singlecell]')")


def _write_training_log(model: TrainedEstimator, out: Path, plot: bool, tensorboard: bool) -> None:
    """``metrics.csv``, and with ``plot`` the curves, with ``tensorboard`` event files."""
    write_metrics(out, model.history_)
    if plot:
        from sepclr.evaluation.plots import plot_training  # matplotlib

        plot_training(model.history_, out / TRAINING_PLOT, title=type(model).__name__)
    if tensorboard:
        print(f"TensorBoard files written to {write_tensorboard(out, model.history_)}")
