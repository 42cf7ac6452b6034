"""Pictures a person reads: labelled axes, the projection named, visible points."""

import numpy as np
import pytest

import sepclr
from sepclr.evaluation import plots


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions draw, kept instead of written."""
    figures = []

    def keep(fig, path):
        figures.append(fig)
        return path

    monkeypatch.setattr(plots, "save_figure", keep)
    return figures


def test_point_size_shrinks_with_the_number_of_points():
    sizes = [plots.point_size(n) for n in (10, 100, 1_000, 10_000, 100_000)]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] == 30 and sizes[-1] == 2 and sizes[2] == pytest.approx(3.0)


def test_the_spaces_plot_names_its_projection_and_labels_every_axis(drawn, tmp_path):
    test = sepclr.datasets.load("synthetic-tabular", split="test", n=120)
    model = sepclr.CPCA(common_dim=4, salient_dim=3).fit(test.background, test.target)
    plots.plot_spaces(model, test, tmp_path / "spaces.png")
    (fig,) = drawn
    panels = [ax for ax in fig.axes if ax.collections and ax.get_title()]
    assert len(panels) == 2 * len(test.factors)
    n = len(test.background) + len(test.target)
    for ax in panels:
        assert ax.get_xlabel().startswith("PC 1 of the targets'")
        assert "of variance" in ax.get_xlabel() and ax.get_ylabel().startswith("PC 2")
        assert len(ax.get_xticks()) > 0
        assert all(np.all(c.get_sizes() == plots.point_size(n)) for c in ax.collections)
    assert "PCA projection" in fig.get_suptitle()


def test_the_training_curves_say_lower_is_better_with_readable_names(drawn, tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    model = sepclr.SepCLR(epochs=2, batch_size=16, verbose=False).fit(x[:20], x[20:])
    plots.plot_training(model.history_, tmp_path / "training.png", title="SepCLR")
    (fig,) = drawn
    titles = [ax.get_title() for ax in fig.axes]
    assert plots.TERM_NAMES["infoless"] in titles and "infoless" not in titles
    assert all(ax.get_ylabel().endswith("(lower is better)") for ax in fig.axes)
    assert all(ax.get_xlabel() == "epoch" for ax in fig.axes)
    assert fig.get_suptitle() == "SepCLR: training loss per epoch"
