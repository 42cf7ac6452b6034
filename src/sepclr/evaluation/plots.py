"""2-D views of the common and salient spaces, coloured by each factor (the paper's Figures
4 and 5 side by side)."""

from pathlib import Path
from typing import Any, Protocol

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

from sepclr.data.catalog import CADataset
from sepclr.engine.files import atomic_write
from sepclr.evaluation.diagnostics import Transformer
from sepclr.evaluation.report import is_continuous, ordered_factors


def save_figure(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` as PNG atomically (no half-written file) and close it."""
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    finally:
        plt.close(fig)


def point_size(n: int) -> float:
    """A scatter marker area that keeps ``n`` points visible but apart."""
    return float(np.clip(3000.0 / max(n, 1), 2.0, 30.0))


def _project(
    background: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both groups on the first two principal axes of the targets' codes, and the share of
    the targets' variance each axis holds."""
    pca = PCA(n_components=2).fit(target)
    return pca.transform(background), pca.transform(target), pca.explained_variance_ratio_


def plot_spaces(model: Transformer, test: CADataset, path: str | Path, title: str = "") -> Path:
    """Write a PNG: one row per factor, columns common and salient; each panel shows the
    test samples on the first two principal axes of the targets' codes in that space
    (the axes name the share of variance they hold), targets coloured by the factor,
    backgrounds in grey.
    """
    common_bg, salient_bg = model.transform(test.background)
    common_tg, salient_tg = model.transform(test.target)
    spaces = {
        "common": _project(common_bg, common_tg),
        "salient": _project(salient_bg, salient_tg),
    }
    size = point_size(len(common_bg) + len(common_tg))
    factors = ordered_factors(test.roles)
    fig, axes = plt.subplots(len(factors), 2, figsize=(11, 5 * len(factors)), squeeze=False)
    for row, factor in enumerate(factors):
        labels = test.factors[factor]
        classes = np.unique(labels)
        colours = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
        continuous = is_continuous(labels)
        for col, (space, (bg, tg, shares)) in enumerate(spaces.items()):
            ax: Any = axes[row, col]
            ax.scatter(bg[:, 0], bg[:, 1], s=size, c="lightgrey", label="background")
            if continuous:  # a colour scale instead of one colour per value
                points = ax.scatter(tg[:, 0], tg[:, 1], s=size, c=labels, cmap="viridis")
                fig.colorbar(points, ax=ax, label=factor)
                classes = classes[:0]
            for k, value in enumerate(classes):
                chosen = labels == value
                ax.scatter(
                    tg[chosen, 0],
                    tg[chosen, 1],
                    s=size,
                    color=colours(k % colours.N),
                    label=test.label_of(factor, value),
                )
            ax.set_title(f"{space} space: targets by {factor} ({test.roles[factor]} factor)")
            ax.set_xlabel(f"PC 1 of the targets' {space} codes ({shares[0]:.0%} of variance)")
            ax.set_ylabel(f"PC 2 ({shares[1]:.0%} of variance)")
            ax.tick_params(labelsize=7)
        if not continuous:
            axes[row, 1].legend(
                title=factor,
                loc="center left",
                bbox_to_anchor=(1.0, 0.5),
                markerscale=max(1.0, 6.0 / np.sqrt(size)),
                fontsize=8,
            )
    shown = "test samples in each space (PCA projection)"
    fig.suptitle(f"{title}: {shown}" if title else shown)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_cell_umaps(
    model: Transformer, test: CADataset, path: str | Path, title: str = "", seed: int = 0
) -> Path:
    """Write a PNG of the UMAP of each space over the test cells of both groups: the first
    row coloured by condition, then one row per common factor of classes known in both
    groups (the cell types). Needs umap-learn (``pip install 'sepclr[singlecell]'``).
    """
    import umap

    (common_bg, salient_bg), (common_tg, salient_tg) = (
        model.transform(test.background),
        model.transform(test.target),
    )
    spaces = {
        "common": np.concatenate([common_bg, common_tg]),
        "salient": np.concatenate([salient_bg, salient_tg]),
    }
    maps = {
        name: umap.UMAP(random_state=seed, n_jobs=1).fit_transform(codes)
        for name, codes in spaces.items()
    }
    colourings = {
        "condition": (
            np.r_[np.zeros(len(common_bg)), np.ones(len(common_tg))],
            ["background", "target"],
        )
    }
    for factor in ordered_factors(test.roles):
        values = test.factors[factor]
        if factor in test.background_factors and not is_continuous(values):
            labels = np.r_[test.background_factors[factor], values]
            names = [test.label_of(factor, v) for v in np.unique(labels)]
            colourings[factor] = (labels, names)
    fig, axes = plt.subplots(len(colourings), 2, figsize=(11, 5 * len(colourings)), squeeze=False)
    palette, size = plt.get_cmap("tab10"), point_size(len(spaces["common"]))
    for row, (factor, (labels, names)) in enumerate(colourings.items()):
        for col, (space, points) in enumerate(maps.items()):
            ax: Any = axes[row, col]
            for k, value in enumerate(np.unique(labels)):
                chosen = labels == value
                ax.scatter(*points[chosen].T, s=size, color=palette(k % 10), label=names[k])
            ax.set_title(f"{space} space (UMAP), cells by {factor}")
            ax.set_xlabel("UMAP 1 (distances between clusters are not to scale)", fontsize=8)
            ax.set_ylabel("UMAP 2", fontsize=8)
            ax.tick_params(labelsize=7)
        axes[row, 1].legend(
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
            markerscale=max(1.0, 6.0 / np.sqrt(size)),
            fontsize=8,
        )
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


class Reconstructor(Protocol):
    """A fitted model with a decoder."""

    def reconstruct(self, x: Any, salient: bool = True) -> np.ndarray:
        """Rebuilt samples."""
        ...


def _as_display(images: np.ndarray) -> np.ndarray:
    """(n, C, H, W) in [0, 1] -> (n, H, W) grey or (n, H, W, 3) colour, clipped."""
    images = np.clip(images, 0.0, 1.0)
    return images[:, 0] if images.shape[1] == 1 else np.moveaxis(images[:, :3], 1, -1)


def plot_reconstructions(
    model: Reconstructor, test: CADataset, path: str | Path, n: int = 8, title: str = ""
) -> Path:
    """Write a PNG grid of ``n`` test samples per row: background inputs, their
    reconstructions, target inputs, their reconstructions, and the targets decoded with the
    salient code set to 0 (what the common space alone holds). Images only.
    """
    if test.target.ndim != 4:
        raise ValueError("reconstruction grids need image data (n, C, H, W)")
    background, target = test.background[:n], test.target[:n]
    rows = {
        "background": background,
        "reconstruction": model.reconstruct(background, salient=False),
        "target": target,
        "reconstruction ": model.reconstruct(target),
        "salient code = 0": model.reconstruct(target, salient=False),
    }
    fig, axes = plt.subplots(len(rows), n, figsize=(1.2 * n, 1.3 * len(rows)), squeeze=False)
    for r, (label, images) in enumerate(rows.items()):
        shown = _as_display(np.asarray(images, dtype=np.float32))
        for c in range(n):
            ax: Any = axes[r, c]
            ax.imshow(shown[c], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label.strip(), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


#: What each loss term of the methods measures, as the training curves name it.
TERM_NAMES = {
    "loss": "total loss (weighted sum)",
    "common": "common: alignment + uniformity",
    "salient": "salient: alignment + uniformity",
    "infoless": "backgrounds' salient codes off s' = 0",
    "independence": "common-salient dependence (k-JEM)",
    "redundancy": "common-salient redundancy",
    "reconstruction": "reconstruction error",
    "kl": "KL divergence to the prior",
    "background_salient": "backgrounds' salient codes off 0",
    "mmd": "MMD between the groups' common codes",
    "tc": "total correlation of the codes",
    "discriminator": "total-correlation discriminator",
}


def plot_training(history: list[dict[str, float]], path: str | Path, title: str = "") -> Path:
    """Write a PNG of the training curves: one panel per loss term against the epoch,
    named by :data:`TERM_NAMES` (the learning rate and the epochs' seconds left out). Every
    term is minimised: lower is better.
    """
    keys = dict.fromkeys(key for epoch in history for key in epoch)
    terms = [key for key in keys if key not in ("lr", "seconds")]
    fig, axes = plt.subplots(1, len(terms), figsize=(3.0 * len(terms), 2.8), squeeze=False)
    epochs = np.arange(1, len(history) + 1)
    for axis, term in zip(axes[0], terms, strict=True):
        axis.plot(epochs, [epoch.get(term, np.nan) for epoch in history], marker=".")
        axis.set_title(TERM_NAMES.get(term, term), fontsize=8)
        axis.set_xlabel("epoch", fontsize=8)
        axis.set_ylabel(f"{term} (lower is better)", fontsize=8)
        axis.tick_params(labelsize=7)
    fig.suptitle(f"{title}: training loss per epoch" if title else "training loss per epoch")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_salient_scores(
    model: Transformer, test: CADataset, path: str | Path, title: str = ""
) -> Path:
    """Write a PNG: histograms of the salient score (each sample's distance to ``s' = 0``)
    of the test backgrounds and targets, with the AUC between them in the legend; it needs
    no factor label.
    """
    from sepclr.evaluation.diagnostics import group_auc, salient_scores

    background = salient_scores(model.transform(test.background)[1])
    target = salient_scores(model.transform(test.target)[1])
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.linspace(0.0, float(max(background.max(), target.max(), 1e-6)), 40).tolist()
    ax.hist(background, bins=bins, alpha=0.6, color="grey", label="background")
    ax.hist(target, bins=bins, alpha=0.6, color="tab:red", label="target")
    ax.set_xlabel("salient score: distance of the salient code to s' = 0")
    ax.set_ylabel("samples")
    auc = group_auc(background, target)
    ax.legend(title=f"AUC {auc:.3f}")
    ax.set_title(title or "salient scores of the test samples")
    fig.tight_layout()
    return save_figure(fig, path)
