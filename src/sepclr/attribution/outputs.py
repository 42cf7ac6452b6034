"""``sepclr explain``: attribute a run's salient score (or another target) to the features
of samples from a file or of its dataset's test targets, and write the answer as files.

The folder ``--out`` gets, for every kind of data, ``explain.json`` (what was explained and
how) and ``attributions.npz`` (``attributions`` per sample, their ``mean`` and ``mean_abs``,
the ``baseline``, and the target at each sample and its baseline); for tables and cells,
``features.csv`` (one row per feature, most important first: ``feature``,
``mean_abs_attribution``, ``mean_attribution``), ``loadings.csv`` (per feature, the change
of each salient dimension per standard deviation) and ``features.png``; for images
``maps.png``; for volumes ``slices.png``; for ``.h5ad`` input ``cells.h5ad``, the input with
the ranking in ``var`` (and, with ``--layers``, each cell's attributions in
``layers["sepclr_attribution"]``). The folder is written whole or not at all.
"""

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sepclr.attribution.explain import Attributions, explain, feature_loadings
from sepclr.attribution.figures import plot_image_maps, plot_top_features, plot_volume_slices
from sepclr.data.download import load_or_fetch
from sepclr.errors import InvalidInputError, StorageError
from sepclr.export import Samples, samples_for_model
from sepclr.methods import ContrastiveEstimator
from sepclr.methods import load as load_model
from sepclr.run_folder import read_run, writable

ATTRIBUTION_LAYER = "sepclr_attribution"
TOP_LISTED = 10
VAR_COLUMNS = {
    "mean_abs_attribution": "sepclr_mean_abs_attribution",
    "mean_attribution": "sepclr_mean_attribution",
}


@dataclass(frozen=True)
class ExplainRequest:
    """What ``sepclr explain`` is asked.

    Parameters
    ----------
    target : str
        The target (see :func:`sepclr.explain`).
    method : str
        The attribution method.
    steps : int
        Points of the integral of integrated gradients.
    rows : int, optional
        Explain only the first ``rows`` samples.
    layers : bool
        For ``.h5ad`` input, also write each cell's attributions as a layer.
    overwrite : bool
        Replace the outputs of an earlier ``sepclr explain`` in the folder.
    progress : bool
        Show a progress bar.
    """

    target: str = "salient_score"
    method: str = "integrated-gradients"
    steps: int = 32
    rows: int | None = None
    layers: bool = False
    overwrite: bool = False
    progress: bool = True


def explain_run(
    run_dir: str | Path,
    out: str | Path,
    request: ExplainRequest = ExplainRequest(),
    *,
    input_path: str | Path | None = None,
    dataset: str | None = None,
    data_dir: str | Path | None = None,
    id_column: str | None = None,
) -> dict[str, Any]:
    """Explain samples with the model of a run and write the folder ``out``."""
    run_dir, out = Path(run_dir), Path(out)
    run = read_run(run_dir)
    _check_out(run_dir, out, request.overwrite)
    model = load_model(run_dir)
    samples, source = _samples(model, run, input_path, dataset, data_dir, id_column)
    if request.rows is not None:
        if request.rows < 1:
            raise InvalidInputError(f"--rows must be at least 1, got {request.rows}")
        samples = Samples(samples.x[: request.rows], samples.ids, samples.adata)
    started = time.perf_counter()
    found = explain(
        model,
        samples.x,
        target=request.target,
        method=request.method,
        steps=request.steps,
        progress=request.progress,
    )
    summary = {
        "run": str(run_dir),
        "explained": source,
        "samples": len(found.values),
        "target": request.target,
        "method": request.method,
        "steps": request.steps if request.method == "integrated-gradients" else None,
        "baseline": "the mean of the backgrounds the model was fitted on",
        "mean_target": float(found.scores.mean()),
        "mean_baseline_target": float(found.baseline_scores.mean()),
        "mean_abs_completeness_gap": float(np.abs(found.completeness_gap).mean()),
        "seconds": round(time.perf_counter() - started, 2),
    }
    if found.values.ndim == 2:
        summary["top_features"] = [str(f) for f in found.ranking()["feature"][:TOP_LISTED]]
    with _new_folder(out) as folder:
        files = _write(folder, model, samples, found, request)
        summary["files"] = sorted([*files, "explain.json"])
        (folder / "explain.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _samples(
    model: ContrastiveEstimator,
    run: dict[str, Any],
    input_path: str | Path | None,
    dataset: str | None,
    data_dir: str | Path | None,
    id_column: str | None,
) -> tuple[Samples, str]:
    """The samples to explain and where they came from."""
    if (input_path is None) == (dataset is None):
        raise InvalidInputError("give --input FILE or --dataset NAME (its test targets)")
    if input_path is not None:
        return samples_for_model(model, run, Path(input_path), id_column), str(input_path)
    if dataset != run["dataset"]:
        raise InvalidInputError(
            f"--dataset {dataset}: this run was trained on {run['dataset']}; give --dataset "
            f"{run['dataset']}, or --input FILE for other samples"
        )
    test = load_or_fetch(
        run["dataset"], None if data_dir is None else str(data_dir), "test", run["dataset_options"]
    )
    x = test.target
    if test.feature_names is not None:
        import pandas

        x = pandas.DataFrame(x, columns=test.feature_names)
    return Samples(x), f"{dataset}, test split, targets"


def _write(
    folder: Path,
    model: ContrastiveEstimator,
    samples: Samples,
    found: Attributions,
    request: ExplainRequest,
) -> list[str]:
    """Write the outputs into ``folder``; return their names."""
    what = request.target.replace("_", " ")
    arrays = {
        "attributions": found.values,
        "mean": found.mean,
        "mean_abs": found.mean_abs,
        "baseline": found.baseline,
        "scores": found.scores,
        "baseline_scores": found.baseline_scores,
    }
    if samples.ids is not None:
        arrays["ids"] = np.asarray(samples.ids[1][: len(found.values)]).astype(str)
    with open(folder / "attributions.npz", "wb") as handle:
        np.savez_compressed(handle, allow_pickle=False, **arrays)
    files = ["attributions.npz"]
    x = np.asarray(samples.x, dtype=np.float32)
    if found.values.ndim == 2:
        ranking = found.ranking()
        ranking.to_csv(folder / "features.csv", index=False)
        _loadings_frame(model, samples.x, found).to_csv(folder / "loadings.csv", index=False)
        plot_top_features(ranking, folder / "features.png", what)
        files += ["features.csv", "loadings.csv", "features.png"]
        if samples.adata is not None:
            _write_cells(folder / "cells.h5ad", samples.adata, found, request.layers)
            files.append("cells.h5ad")
    elif found.values.ndim == 4:
        x = x.reshape(found.values.shape)
        plot_image_maps(x, found.values, found.scores, folder / "maps.png", what)
        files.append("maps.png")
    else:
        x = x.reshape(found.values.shape)
        plot_volume_slices(x.mean(axis=0), found.mean, folder / "slices.png", what)
        files.append("slices.png")
    return files


def _loadings_frame(model: ContrastiveEstimator, x: Any, found: Attributions) -> Any:
    """The salient loadings as a table: ``feature``, then ``salient_0`` ..."""
    import pandas

    loadings = feature_loadings(model, x)
    frame = pandas.DataFrame(loadings, columns=[f"salient_{k}" for k in range(loadings.shape[1])])
    names = found.feature_names or [str(k) for k in range(len(frame))]
    frame.insert(0, "feature", names)
    return frame


def _write_cells(path: Path, adata: Any, found: Attributions, layers: bool) -> None:
    """The input AnnData with the ranking in ``var`` (NaN for genes the model does not
    read) and, with ``layers``, each cell's attributions as a layer (0 for those genes)."""
    genes = [str(g) for g in adata.var_names]
    names = found.feature_names or genes
    position = {gene: k for k, gene in enumerate(genes)}
    columns = [position[name] for name in names]
    result = adata[: len(found.values)].copy()
    for key, column in VAR_COLUMNS.items():
        values = np.full(len(genes), np.nan)
        values[columns] = getattr(found, key.removesuffix("_attribution"))
        result.var[column] = values
    order = np.argsort(-found.mean_abs, kind="stable")
    rank = np.full(len(genes), np.nan)
    rank[np.asarray(columns)[order]] = np.arange(1, len(order) + 1)
    result.var["sepclr_rank"] = rank
    if layers:
        layer = np.zeros((len(found.values), len(genes)), dtype=np.float32)
        layer[:, columns] = found.values
        result.layers[ATTRIBUTION_LAYER] = layer
    result.write_h5ad(path)


def _check_out(run_dir: Path, out: Path, overwrite: bool) -> None:
    """Refuse an output folder that is the run's, a file, holds other files (without
    ``overwrite``, or ever when it is not an earlier explanation), or cannot be written."""
    if out.resolve() == run_dir.resolve():
        raise InvalidInputError(
            f"--out {out} is the run's own folder; give a folder of its own, such as "
            f"{run_dir / 'explain'}"
        )
    if out.exists() and not out.is_dir():
        raise StorageError(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / "explain.json").is_file():
            raise StorageError(
                f"--out {out} holds other files; give a new or empty folder for the explanation"
            )
        if not overwrite:
            raise StorageError(
                f"--out {out} already holds an explanation; replace it with --overwrite"
            )
    parent = next(p for p in (out.absolute().parent, *out.absolute().parents) if p.exists())
    if not parent.is_dir() or not writable(parent):
        raise StorageError(f"cannot write into {parent}; choose another --out")


@contextmanager
def _new_folder(out: Path) -> Iterator[Path]:
    """A temporary folder beside ``out`` that replaces ``out`` whole when the block
    succeeds; removed when it fails."""
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        yield folder
        aside = folder.with_suffix(".old")
        if out.exists():
            out.rename(aside)
        folder.rename(out)
        shutil.rmtree(aside, ignore_errors=True)
    except OSError as exc:
        raise StorageError(f"cannot write {out}: {exc}") from exc
    finally:
        shutil.rmtree(folder, ignore_errors=True)
