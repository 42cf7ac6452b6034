"""The figures of ``sepclr explain``: the top features of a table, attribution maps over
images, and orthogonal slices of a volume's mean map."""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from sepclr.evaluation.plots import save_figure

TOP_FEATURES = 20
SAMPLE_MAPS = 6


def plot_top_features(ranking: Any, path: Path, what: str, top: int = TOP_FEATURES) -> Path:
    """A horizontal bar chart of the ``top`` features' mean attribution, most important
    first, with their mean absolute attribution as an outline.
    """
    shown = ranking.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.3 * len(shown)))
    positions = np.arange(len(shown))
    ax.barh(
        positions,
        shown["mean_abs_attribution"],
        color="none",
        edgecolor="grey",
        label="mean |attribution|",
    )
    ax.barh(
        positions, shown["mean_attribution"], color="tab:red", alpha=0.8, label="mean attribution"
    )
    ax.set_yticks(positions, [str(f) for f in shown["feature"]])
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel(f"attribution to {what} (change from the background mean)")
    ax.set_title(f"the {len(shown)} features that move the {what} most")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_image_maps(
    images: np.ndarray, values: np.ndarray, scores: np.ndarray, path: Path, what: str
) -> Path:
    """The samples of highest ``scores`` (up to :data:`SAMPLE_MAPS`), each image beside its
    attribution map over a faint copy of it, and the mean map of all samples.
    """
    chosen = np.argsort(-scores, kind="stable")[:SAMPLE_MAPS]
    fig, axes = plt.subplots(2, len(chosen) + 1, figsize=(2.2 * (len(chosen) + 1), 4.6))
    for column, row in enumerate(chosen):
        picture = _picture(images[row])
        axes[0, column].imshow(picture, cmap=None if picture.ndim == 3 else "gray")
        axes[0, column].set_title(f"{what} {scores[row]:.2f}", fontsize="small")
        _heatmap(axes[1, column], values[row].sum(axis=0), picture)
    mean = values.mean(axis=0).sum(axis=0)
    axes[0, -1].imshow(_picture(images.mean(axis=0)), cmap="gray")
    axes[0, -1].set_title(f"mean of {len(images)} samples", fontsize="small")
    image = _heatmap(axes[1, -1], mean, _picture(images.mean(axis=0)))
    fig.colorbar(image, ax=axes[1, -1], fraction=0.046)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[1, 0].set_ylabel("attribution\n(red raises it)")
    fig.suptitle(f"what moves the {what}: the samples of highest {what}, and the mean map")
    fig.tight_layout()
    return save_figure(fig, path)


def _picture(sample: np.ndarray) -> np.ndarray:
    """A (C, H, W) sample as a displayable image in [0, 1]."""
    picture = np.moveaxis(sample, 0, -1) if sample.shape[0] in (3, 4) else sample.mean(axis=0)
    low, high = float(picture.min()), float(picture.max())
    return np.asarray((picture - low) / (high - low if high > low else 1.0))


def _heatmap(ax: Any, values: np.ndarray, picture: np.ndarray) -> Any:
    """Signed attributions in red (raise the target) and blue (lower it) over a faint
    grey copy of the picture."""
    ax.imshow(picture if picture.ndim == 2 else picture.mean(axis=-1), cmap="gray", alpha=0.4)
    limit = float(np.abs(values).max()) or 1.0
    return ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, alpha=0.75)


def plot_volume_slices(mean_input: np.ndarray, mean_map: np.ndarray, path: Path, what: str) -> Path:
    """Three orthogonal slices through the voxel of largest mean absolute attribution: the
    mean input above, the mean attribution map over it below.
    """
    volume, attributions = mean_input.mean(axis=0), mean_map.sum(axis=0)
    centre = np.unravel_index(int(np.argmax(np.abs(attributions))), attributions.shape)
    limit = float(np.abs(attributions).max()) or 1.0
    fig, axes = plt.subplots(2, 3, figsize=(9, 6))
    for axis in range(3):
        cut = [slice(None)] * 3
        cut[axis] = slice(centre[axis], centre[axis] + 1)
        background = volume[tuple(cut)].squeeze(axis)
        axes[0, axis].imshow(background.T, cmap="gray", origin="lower")
        axes[0, axis].set_title(f"axis {axis} = {centre[axis]}", fontsize="small")
        axes[1, axis].imshow(background.T, cmap="gray", origin="lower", alpha=0.4)
        image = axes[1, axis].imshow(
            attributions[tuple(cut)].squeeze(axis).T,
            cmap="RdBu_r",
            vmin=-limit,
            vmax=limit,
            alpha=0.75,
            origin="lower",
        )
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel("mean volume")
    axes[1, 0].set_ylabel("mean attribution\n(red raises it)")
    fig.colorbar(image, ax=axes[1, :].tolist(), fraction=0.03)
    fig.suptitle(f"what moves the {what}: slices through the strongest voxel of the mean map")
    return save_figure(fig, path)
