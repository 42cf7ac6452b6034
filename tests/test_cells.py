"""Single cells: the preparation, the planted benchmark and the metrics, each against a plain
computation."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sepclr.data.cells import CellPreparation, fit_preparation, highly_variable, log_normalise
from sepclr.errors import InvalidInputError
from sepclr.evaluation.cells import cell_scores, cross_condition_transfer

pytest.importorskip("scanpy")


def _counts(cells: int = 60, genes: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rates = rng.gamma(0.5, 4.0, size=genes) * rng.uniform(0.5, 2.0, size=(cells, 1))
    return rng.poisson(rates).astype(np.float32) + np.eye(cells, genes, dtype=np.float32)


def test_log_normalise_scales_each_cell_to_ten_thousand_then_takes_log1p():
    counts = _counts()
    expected = np.empty_like(counts)
    for i, row in enumerate(counts):
        expected[i] = [np.log(1 + value * 10_000 / row.sum()) for value in row]
    np.testing.assert_allclose(log_normalise(counts), expected, rtol=1e-5, atol=1e-6)


def _seurat_genes(log_expression: np.ndarray, n_top: int) -> set[int]:
    """The Seurat-flavour choice written out: dispersion of the un-logged expression,
    normalised within 20 bins of log mean, the largest ``n_top`` kept."""
    expression = np.expm1(log_expression.astype(np.float64))
    mean = expression.mean(axis=0)
    variance = expression.var(axis=0, ddof=1)
    mean[mean == 0] = 1e-12
    dispersion = np.log(variance / mean)
    log_mean = np.log1p(mean)
    bins = pd.cut(log_mean, bins=20)
    normalised = np.empty_like(dispersion)
    for interval in bins.categories:
        members = np.flatnonzero(bins == interval)
        if len(members) == 0:
            continue
        spread = dispersion[members].std(ddof=1) if len(members) > 1 else np.nan
        normalised[members] = (dispersion[members] - dispersion[members].mean()) / spread
        if len(members) == 1:  # scanpy keeps a lone gene's dispersion at 1
            normalised[members] = 1.0
    return set(np.argsort(-np.nan_to_num(normalised, nan=-np.inf))[:n_top].tolist())


def test_highly_variable_genes_are_the_seurat_choice_written_out():
    log_expression = log_normalise(_counts(cells=200, genes=120, seed=3))
    chosen = set(np.flatnonzero(highly_variable(log_expression, 30)).tolist())
    assert len(chosen) == 30
    assert len(chosen & _seurat_genes(log_expression, 30)) >= 28


def test_counts_are_prepared_and_new_cells_are_read_by_gene_name():
    counts = _counts()
    genes = [f"g{k}" for k in range(counts.shape[1])]
    preparation = fit_preparation(counts, genes, n_top=10)
    assert preparation.counts and len(preparation.selected) == 10
    prepared = preparation.apply(counts, genes)
    columns = [genes.index(g) for g in preparation.selected]
    np.testing.assert_allclose(prepared, log_normalise(counts)[:, columns], rtol=1e-6)
    order = np.random.default_rng(0).permutation(len(genes))
    extra = np.c_[counts[:, order], np.full((len(counts), 1), 50.0)]
    shuffled = preparation.apply(extra, [genes[k] for k in order] + ["another"])
    np.testing.assert_allclose(shuffled, prepared, rtol=1e-6)
    assert CellPreparation.from_json(preparation.as_json()) == preparation


def test_log_expression_is_used_as_it_is_and_every_gene_kept_with_zero():
    log_expression = log_normalise(_counts())
    genes = [f"g{k}" for k in range(log_expression.shape[1])]
    preparation = fit_preparation(log_expression, genes, n_top=0)
    assert not preparation.counts and preparation.selected == tuple(genes)
    np.testing.assert_array_equal(preparation.apply(log_expression, genes), log_expression)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda x: x - 1.0, "negative expression"),
        (lambda x: np.where(np.arange(len(x))[:, None] == 2, 0.0, x), "have no counts"),
        (lambda x: x * 1000.5, "neither raw counts"),
        (lambda x: np.where(x > 3, np.nan, x), "NaN"),
    ],
)
def test_bad_expression_is_refused_in_one_line(edit, message):
    counts = _counts()
    with pytest.raises(InvalidInputError, match=message) as error:
        fit_preparation(edit(counts), [f"g{k}" for k in range(counts.shape[1])], n_top=10)
    assert "\n" not in str(error.value)


def test_cells_without_the_fitted_genes_are_refused():
    counts = _counts()
    genes = [f"g{k}" for k in range(counts.shape[1])]
    preparation = fit_preparation(counts, genes, n_top=10)
    with pytest.raises(InvalidInputError, match="lack 1 of the 40 genes"):
        preparation.apply(counts[:, 1:], genes[1:], "new.h5ad")


def test_cross_condition_transfer_is_a_probe_fitted_on_backgrounds_read_on_targets():
    rng = np.random.default_rng(0)
    types = rng.integers(0, 3, size=(2, 90))
    codes = [rng.normal(size=(90, 4)) + 2.0 * t[:, None] for t in types]
    codes[1][:, 1] += 3.0  # the condition shifts one direction
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    probe.fit(codes[0], types[0])
    expected = 100 * balanced_accuracy_score(types[1], probe.predict(codes[1]))
    assert cross_condition_transfer(codes[0], types[0], codes[1], types[1]) == pytest.approx(
        expected
    )


def _silhouette(points: np.ndarray, labels: np.ndarray) -> float:
    scores = []
    for i, point in enumerate(points):
        distances = np.linalg.norm(points - point, axis=1)
        same = (labels == labels[i]) & (np.arange(len(points)) != i)
        inside = distances[same].mean()
        outside = min(distances[labels == other].mean() for other in set(labels) - {labels[i]})
        scores.append((outside - inside) / max(inside, outside))
    return float(np.mean(scores))


def test_cell_scores_against_a_written_out_probe_and_silhouette():
    from sepclr.data.ca_dataset import CADataset

    rng = np.random.default_rng(1)

    def split(name: str) -> CADataset:
        types = np.repeat([0, 1, 2], 20)
        bg = rng.normal(size=(60, 3)) + 4.0 * np.eye(3)[types]
        tg = rng.normal(size=(60, 3)) + 4.0 * np.eye(3)[types] + [0.0, 0.0, 1.5]
        return CADataset(
            name, name, bg, tg, {"cell_type": types}, {"cell_type": "common"},
            background_factors={"cell_type": types},
        )  # fmt: skip

    class Identity:
        def transform(self, x):
            return x, x[:, :2]

    train, test = split("train"), split("test")
    scores = cell_scores(Identity(), train, test)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    probe.fit(train.background, train.factors["cell_type"])
    expected = 100 * balanced_accuracy_score(test.factors["cell_type"], probe.predict(test.target))
    assert scores["transfer_cell_type"] == pytest.approx(expected)
    both = np.concatenate([test.background, test.target])
    labels = np.r_[test.factors["cell_type"], test.factors["cell_type"]]
    silhouette = _silhouette(StandardScaler().fit_transform(both), labels)
    assert scores["C_cell_type_silhouette"] == pytest.approx(silhouette, rel=1e-6)
    assert scores["C_cell_type_ARI"] > 0.8 and set(scores) == {
        "transfer_cell_type", "C_cell_type_silhouette", "C_cell_type_ARI", "C_cell_type_NMI"
    }  # fmt: skip


def test_the_planted_benchmark_holds_real_counts_and_a_known_response():
    from sepclr.data.sets.pbmc_interferon import LINEAGES, PROGRAM, planted_cells

    cells = planted_cells(10.0)
    counts, group, response = cells["counts"], cells["group"], cells["response"]
    assert counts.shape == (687, 765) and np.array_equal(counts, np.round(counts))
    assert (response[group == 0] == 0).all()
    assert (response[group == 1] > 0).mean() == pytest.approx(0.6, abs=0.01)
    for lineage in range(len(LINEAGES)):  # every cell type in both groups
        assert {0, 1} <= set(group[cells["cell_type"] == lineage].tolist())
    program = [cells["genes"].index(g) for g in PROGRAM]
    share = counts[:, program].sum(axis=1) / counts.sum(axis=1)
    assert share[response > 0].mean() > 3 * share[group == 0].mean()
    assert np.array_equal(planted_cells(10.0)["counts"], counts)


def test_anndata_study_prepares_counts_on_its_train_split_and_refuses_scaled_data(tmp_path):
    anndata = pytest.importorskip("anndata")
    from sepclr.data.tables import anndata_study

    counts = _counts(cells=80, genes=40)
    obs = pd.DataFrame({"condition": ["control", "treated"] * 40})
    obs.index = [f"c{i}" for i in range(80)]
    var = pd.DataFrame(index=[f"g{k}" for k in range(40)])
    anndata.AnnData(counts, obs=obs, var=var).write_h5ad(tmp_path / "data.h5ad")
    train = anndata_study(root=tmp_path, genes=15)
    test = anndata_study(split="test", root=tmp_path, genes=15)
    assert train.preparation is not None and train.preparation == test.preparation
    assert train.feature_names == list(train.preparation.selected)
    assert train.target.shape[1] == 15
    scaled = (counts - counts.mean(axis=0)) / counts.std(axis=0)
    anndata.AnnData(scaled, obs=obs, var=var).write_h5ad(tmp_path / "data.h5ad")
    with pytest.raises(InvalidInputError, match=r"negative expression .* looks scaled"):
        anndata_study(root=tmp_path)


def _planted_h5ad(path, cells_per_group: int = 120, seed: int = 0) -> None:
    """Two cell types (each raises its own block of genes) in both conditions; half the
    treated cells raise a program of five more genes."""
    anndata = pytest.importorskip("anndata")
    rng = np.random.default_rng(seed)
    n = 2 * cells_per_group
    condition = np.repeat(["control", "treated"], cells_per_group)
    cell_type = rng.permutation(np.tile(["A", "B"], cells_per_group))
    responding = (condition == "treated") & (rng.random(n) < 0.5)
    rates = np.full((n, 30), 2.0)
    rates[cell_type == "A", :10] += 8.0
    rates[cell_type == "B", 10:20] += 8.0
    rates[responding, 20:25] += 10.0
    obs = pd.DataFrame(
        {"condition": condition, "cell_type": cell_type, "responding": responding.astype(str)},
        index=[f"cell{i}" for i in range(n)],
    )
    var = pd.DataFrame(index=[f"g{k}" for k in range(30)])
    anndata.AnnData(rng.poisson(rates).astype(np.float32), obs=obs, var=var).write_h5ad(path)


def test_sepclr_on_cells_uses_the_single_cell_recipe_unless_told_otherwise():
    from sepclr import run

    recipe = run.settings("pbmc-interferon")
    assert recipe["preset"] == "single-cell" and recipe["params"]["independence_weight"] == 1.0
    told = run.settings("anndata-study", params={"epochs": 5, "independence_weight": 100.0})
    assert told["preset"] == "single-cell" and told["params"]["epochs"] == 5
    assert told["params"]["independence_weight"] == 100.0
    assert run.settings("pbmc-interferon", method="cvae")["params"] == {}
    assert run.settings("synthetic-tabular")["preset"] is None


@pytest.mark.slow
def test_a_cell_run_keeps_cell_types_in_common_and_the_program_in_salient(tmp_path):
    from sepclr import cli

    _planted_h5ad(tmp_path / "cells.h5ad")
    argv = ["fit", "--dataset", "anndata-study", "--data-dir", str(tmp_path), "--quiet"]
    argv += ["--dataset-option", "file=cells.h5ad", "--dataset-option", "group_column=condition"]
    argv += ["--dataset-option", "factors=cell_type,responding"]
    argv += ["--dataset-option", "salient=responding", "--plot"]
    assert cli.main([*argv, "--out", str(tmp_path / "run")]) == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["run"]["preset"] == "single-cell"
    assert results["cells"]["transfer_cell_type"] >= 95.0
    assert results["cells"]["C_cell_type_ARI"] >= 0.8
    assert results["rows"]["SepCLR (anndata-study)"]["S_responding"] >= 75.0
    assert (tmp_path / "run" / "umap.png").is_file()
    prepared = json.loads((tmp_path / "run" / "run.json").read_text())["cell_preparation"]
    assert prepared["input"] == "counts" and len(prepared["genes"]) == 30


def _anndata(x: np.ndarray, **layers: np.ndarray):
    anndata = pytest.importorskip("anndata")
    var = pd.DataFrame(index=[f"g{k}" for k in range(x.shape[1])])
    return anndata.AnnData(x, var=var, layers=layers or None)


def test_a_model_fitted_on_anndata_prepares_new_cells_itself(tmp_path):
    import sepclr
    from sepclr.export import SALIENT_KEY, transform_anndata

    counts = [_counts(cells=50, seed=s) for s in (0, 1)]
    genes = [f"g{k}" for k in range(counts[0].shape[1])]
    model = sepclr.CPCA(common_dim=3, salient_dim=2)
    model.fit(*(_anndata(c) for c in counts))
    preparation = fit_preparation(np.concatenate(counts), genes)
    assert model.preparation_ == preparation
    prepared = preparation.apply(counts[1], genes)
    expected = model.transform(pd.DataFrame(prepared, columns=list(preparation.selected)))
    np.testing.assert_allclose(model.transform(_anndata(counts[1]))[1], expected[1], rtol=1e-5)
    written = transform_anndata(model, _anndata(counts[1]))
    np.testing.assert_allclose(written.obsm[SALIENT_KEY], expected[1], rtol=1e-5)
    model.save(tmp_path / "m")
    loaded = sepclr.load(tmp_path / "m")
    assert loaded.preparation_ == preparation
    np.testing.assert_array_equal(
        loaded.transform(_anndata(counts[1]))[1], written.obsm[SALIENT_KEY]
    )
    with pytest.raises(InvalidInputError, match="looks like raw counts"):
        model.transform(counts[1])
    scaled = _anndata(np.log1p(counts[1]) - 1.0, counts=counts[1])
    layered = model.transform(scaled, layer="counts")[1]
    np.testing.assert_array_equal(layered, written.obsm[SALIENT_KEY])


def test_anndata_groups_are_checked_in_one_line():
    import sepclr

    counts = _counts(cells=40)
    model = sepclr.CPCA(common_dim=2, salient_dim=2)
    with pytest.raises(InvalidInputError, match="both groups as AnnData, or neither"):
        model.fit(_anndata(counts), counts)
    other = _anndata(counts)
    other.var_names = [f"h{k}" for k in range(counts.shape[1])]
    with pytest.raises(InvalidInputError, match="different genes"):
        model.fit(_anndata(counts), other)
    with pytest.raises(InvalidInputError, match="no layer 'raw'"):
        model.fit(_anndata(counts), _anndata(counts), layer="raw")
    with pytest.raises(InvalidInputError, match="layer= is for AnnData"):
        model.fit(counts, counts, layer="counts")


def test_a_model_fitted_on_arrays_reads_anndata_as_it_is():
    import sepclr
    from sepclr.export import SALIENT_KEY, transform_anndata

    x = [np.log1p(_counts(cells=40, seed=s)) for s in (0, 1)]
    model = sepclr.CPCA(common_dim=2, salient_dim=2).fit(*x)
    assert not hasattr(model, "preparation_")
    written = transform_anndata(model, _anndata(x[1]))
    np.testing.assert_allclose(written.obsm[SALIENT_KEY], model.transform(x[1])[1], rtol=1e-6)


def test_log1p_on_values_that_are_not_counts_warns():
    from sepclr.data.tables import normalize_counts
    from sepclr.errors import SepCLRWarning

    with pytest.warns(SepCLRWarning, match="transformed twice"):
        normalize_counts(np.log1p(_counts()), "log1p")
