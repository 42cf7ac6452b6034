"""Attributions (``sepclr.explain``, ``sepclr.feature_loadings``, ``sepclr explain``): closed
forms, completeness, shapes, a planted answer, and one-line refusals."""

import json

import numpy as np
import pytest
import torch
from cli_runs import one_line_error

import sepclr
from sepclr import cli
from sepclr.attribution.explain import attribute, occlusion_window
from sepclr.errors import InvalidInputError


def _planted(seed: int = 0, rows: int = 300):
    """Eight features: 0 and 1 vary widely in both groups (common); the targets' features 2
    and 5 are shifted by +-3 (salient)."""
    rng = np.random.default_rng(seed)
    background = rng.normal(size=(rows, 8))
    target = rng.normal(size=(rows, 8))
    for group in (background, target):
        group[:, :2] += 3.0 * rng.choice([-1.0, 1.0], size=(rows, 1))
    target[:, [2, 5]] += 3.0 * rng.choice([-1.0, 1.0], size=(rows, 2))
    return background.astype(np.float32), target.astype(np.float32)


@pytest.fixture(scope="module")
def cpca_model():
    background, target = _planted()
    model = sepclr.CPCA(common_dim=2, salient_dim=2, alpha=1.0).fit(background, target)
    return model, background, target


@pytest.fixture(scope="module")
def trained_sepclr():
    background, target = _planted()
    model = sepclr.SepCLR(common_dim=4, salient_dim=4, epochs=15, verbose=False, seed=0)
    return model.fit(background, target), background, target


def test_integrated_gradients_of_a_linear_function_are_weight_times_the_difference():
    weight = torch.tensor([1.5, -2.0, 0.0, 0.25], dtype=torch.float64)
    rows = torch.randn(5, 4)
    bases = torch.randn(5, 4)
    values = attribute(lambda x: x.double() @ weight, rows, bases, "integrated-gradients")
    expected = (rows - bases).double() * weight
    assert torch.allclose(values.double(), expected, atol=1e-5)


def test_cpca_attributions_of_a_dimension_are_its_loading_times_the_difference(cpca_model):
    model, background, target = cpca_model
    baseline = background.mean(axis=0)
    found = sepclr.explain(model, target[:20], target="salient:1", baseline=baseline)
    expected = (target[:20] - baseline) / model.salient_scale_ * model.salient_components_[:, 1]
    np.testing.assert_allclose(found.values, expected, rtol=1e-4, atol=1e-5)


def test_cpca_loadings_are_its_components_whatever_the_rows(cpca_model):
    model, _, target = cpca_model
    for rows in (target[:10], target[100:]):
        loadings = sepclr.feature_loadings(model, rows)
        np.testing.assert_allclose(loadings, model.salient_components_, atol=1e-10)
    common = sepclr.feature_loadings(model, target, space="common")
    np.testing.assert_allclose(common, model.common_components_, atol=1e-10)


def test_the_default_baseline_is_the_mean_of_the_fitted_backgrounds(cpca_model):
    model, background, target = cpca_model
    np.testing.assert_allclose(model.background_mean_, background.mean(axis=0), atol=1e-5)
    found = sepclr.explain(model, target[:5])
    given = sepclr.explain(model, target[:5], background=background)
    np.testing.assert_allclose(found.values, given.values, atol=1e-5)
    np.testing.assert_allclose(found.baseline, background.mean(axis=0), atol=1e-5)


def test_integrated_gradients_sum_to_the_change_of_the_salient_score(trained_sepclr):
    model, _, target = trained_sepclr
    found = sepclr.explain(model, target[:40], steps=128)
    change = found.scores - found.baseline_scores
    assert np.abs(change).mean() > 0.1  # a real change to account for
    assert np.abs(found.completeness_gap).mean() < 0.02 * np.abs(change).mean()


def test_the_salient_ranking_puts_the_planted_features_first(trained_sepclr):
    model, _, target = trained_sepclr
    ranking = sepclr.explain(model, target).ranking()
    assert set(ranking["feature"][:2]) == {"2", "5"}
    planted = ranking.set_index("feature")["mean_abs_attribution"]
    assert min(planted["2"], planted["5"]) > 2.0 * planted.drop(["2", "5"]).max()


def test_a_dataframe_fit_ranks_by_column_name():
    background, target = _planted(rows=120)
    pandas = pytest.importorskip("pandas")
    names = [f"gene_{k}" for k in range(8)]
    frames = [pandas.DataFrame(g, columns=names) for g in (background, target)]
    model = sepclr.CPCA(common_dim=2, salient_dim=2, alpha=1.0, standardize=False).fit(*frames)
    ranking = sepclr.explain(model, frames[1]).ranking()
    assert list(ranking.columns) == ["feature", "mean_abs_attribution", "mean_attribution"]
    assert set(ranking["feature"][:2]) == {"gene_2", "gene_5"}


@pytest.mark.parametrize("shape", [(8,), (1, 16, 16), (1, 16, 16, 16)])
@pytest.mark.parametrize("method", ["integrated-gradients", "gradient-x-input", "occlusion"])
def test_shapes_and_dtypes_for_tables_images_and_volumes(shape, method):
    rng = np.random.default_rng(0)
    background = rng.random((24, *shape)).astype(np.float32)
    target = rng.random((24, *shape)).astype(np.float32)
    model = sepclr.CVAE(common_dim=2, salient_dim=2, epochs=1, verbose=False)
    model.fit(background, target)
    found = sepclr.explain(model, target[:5], method=method, steps=4)
    assert found.values.shape == (5, *shape) and found.values.dtype == np.float32
    assert found.mean.shape == shape and found.mean_abs.shape == shape
    assert found.scores.shape == found.baseline_scores.shape == (5,)
    assert np.isfinite(found.values).all()


def test_occlusion_windows():
    assert occlusion_window((30,), None) == (1,)
    assert occlusion_window((3, 32, 32), None) == (3, 4, 4)
    assert occlusion_window((1, 16, 16, 16), 2) == (1, 2, 2, 2)


def test_a_saved_model_keeps_its_background_mean(cpca_model, tmp_path):
    model, _, target = cpca_model
    model.save(tmp_path / "m")
    loaded = sepclr.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.background_mean_, model.background_mean_)
    np.testing.assert_allclose(
        sepclr.explain(loaded, target[:5]).values, sepclr.explain(model, target[:5]).values
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"baseline": np.zeros(5)}, "baseline has shape (5,); give one sample of shape (8,)"),
        ({"target": "salient"}, "unknown target 'salient'; choose salient_score"),
        ({"target": "salient:9"}, "the salient code has dimensions 0 to 1"),
        ({"method": "saliency"}, "unknown method 'saliency'"),
        ({"method": "occlusion", "window": 3}, "window must be a whole number from 1"),
        ({"baseline": np.zeros(8), "background": np.zeros((3, 8))}, "not both"),
    ],
)
def test_bad_requests_get_one_clear_error(cpca_model, options, message):
    model, _, target = cpca_model
    if "window" in options:  # windows are for images; a table's features go one at a time
        model = sepclr.CPCA(common_dim=2, salient_dim=2, alpha=1.0)
        images = np.random.default_rng(0).random((2, 30, 1, 2, 2)).astype(np.float32)
        model.fit(images[0], images[1])
        target = images[1]
    with pytest.raises(InvalidInputError) as caught:
        sepclr.explain(model, target[:5], **options)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_loadings_are_refused_for_images_and_a_missing_background_mean(cpca_model):
    rng = np.random.default_rng(0)
    images = rng.random((2, 30, 1, 4, 4)).astype(np.float32)
    model = sepclr.CPCA(common_dim=2, salient_dim=2, alpha=1.0).fit(images[0], images[1])
    with pytest.raises(InvalidInputError, match="loadings are for tables and cells"):
        sepclr.feature_loadings(model, images[1])
    table_model, _, target = cpca_model
    del table_model.background_mean_
    try:
        with pytest.raises(InvalidInputError, match="give background="):
            sepclr.explain(table_model, target[:5])
    finally:
        table_model.background_mean_ = cpca_model[1].mean(axis=0).astype(np.float32)


def _fit_tabular(out, *extra):
    args = ["fit", "--dataset", "synthetic-tabular", "--dataset-option", "n=60"]
    args += ["--dataset-option", "rotate=false", "--method", "cpca", "--quiet", "--no-evaluate"]
    assert cli.main([*args, "--out", str(out), *extra]) == 0


def test_the_command_line_writes_a_ranking_loadings_and_figures(tmp_path, capsys):
    _fit_tabular(tmp_path / "run")
    out = tmp_path / "explained"
    args = ["explain", str(tmp_path / "run"), "--dataset", "synthetic-tabular"]
    code = cli.main([*args, "--out", str(out), "--quiet"])
    assert code == 0
    files = {p.name for p in out.iterdir()}
    assert files == {
        "explain.json",
        "attributions.npz",
        "features.csv",
        "loadings.csv",
        "features.png",
    }
    summary = json.loads((out / "explain.json").read_text())
    assert summary["samples"] == 60 and summary["target"] == "salient_score"
    saved = np.load(out / "attributions.npz")
    assert saved["attributions"].shape == (60, 20) and saved["mean"].shape == (20,)
    header = (out / "features.csv").read_text().splitlines()[0]
    assert header == "feature,mean_abs_attribution,mean_attribution"
    assert "top features:" in capsys.readouterr().out


def test_the_command_line_refuses_the_run_folder_and_keeps_an_earlier_answer(
    tmp_path, capsys, monkeypatch
):
    _fit_tabular(tmp_path / "run")
    run = tmp_path / "run"
    before = sorted(p.name for p in run.iterdir())
    assert cli.main(["explain", str(run), "--dataset", "synthetic-tabular", "--out", str(run)]) == 1
    assert "is the run's own folder" in one_line_error(capsys)
    assert sorted(p.name for p in run.iterdir()) == before
    out = tmp_path / "explained"
    args = ["explain", str(run), "--dataset", "synthetic-tabular", "--out", str(out), "--quiet"]
    assert cli.main(args) == 0
    kept = (out / "explain.json").read_text()
    assert cli.main(args) == 1
    assert "replace it with --overwrite" in one_line_error(capsys)
    assert cli.main([*args, "--target", "salient:99", "--overwrite"]) == 1
    assert "the salient code has dimensions" in one_line_error(capsys)
    assert (out / "explain.json").read_text() == kept

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sepclr.attribution.outputs.plot_top_features", full_disk)
    assert cli.main([*args, "--target", "common_norm", "--overwrite"]) == 1
    assert "No space left on device" in one_line_error(capsys)
    assert (out / "explain.json").read_text() == kept
    other = ["--out", str(tmp_path / "other")]
    assert cli.main(["explain", str(run), "--dataset", "digits-on-fashion", *other]) == 1
    assert "this run was trained on synthetic-tabular" in one_line_error(capsys)
    assert not list(tmp_path.glob(".explained.*"))


def test_cells_get_their_ranking_in_var_and_attributions_in_layers(tmp_path):
    anndata = pytest.importorskip("anndata")
    background, target = _planted(rows=60)
    genes = [f"g{k}" for k in range(8)]
    rows = np.concatenate([background, target])
    table = tmp_path / "cells.csv"
    header = "group," + ",".join(genes)
    lines = [
        f"{'treated' if k >= 60 else 'control'}," + ",".join(f"{v:.5f}" for v in row)
        for k, row in enumerate(rows)
    ]
    table.write_text("\n".join([header, *lines]) + "\n")
    args = ["fit", "--dataset", "table-study", "--data-dir", str(tmp_path)]
    args += ["--dataset-option", "table=cells.csv", "--method", "cpca", "--quiet"]
    args += ["--set", "common_dim=2", "--set", "salient_dim=2", "--set", "alpha=1.0"]
    args += ["--set", "standardize=false"]
    args += ["--no-evaluate"]
    assert cli.main([*args, "--out", str(tmp_path / "run")]) == 0
    cells = anndata.AnnData(target[:, ::-1].copy())  # genes in another order, read by name
    cells.var_names = genes[::-1]
    cells.write_h5ad(tmp_path / "new.h5ad")
    out = tmp_path / "explained"
    assert (
        cli.main(
            [
                "explain",
                str(tmp_path / "run"),
                "--input",
                str(tmp_path / "new.h5ad"),
                "--out",
                str(out),
                "--layers",
                "--quiet",
            ]
        )
        == 0
    )
    result = anndata.read_h5ad(out / "cells.h5ad")
    ranking = result.var.sort_values("sepclr_rank")
    assert set(ranking.index[:2]) == {"g2", "g5"}
    layer = result.layers["sepclr_attribution"]
    assert layer.shape == (60, 8)
    saved = np.load(out / "attributions.npz")["attributions"]
    np.testing.assert_allclose(layer[:, ::-1], saved, atol=1e-6)
