"""Tabular and single-cell studies: CSV, Parquet and AnnData files the tests write."""

import sys

import numpy as np
import pytest
import scipy.sparse

import sepclr
from sepclr.data.tables import normalize_counts
from sepclr.errors import InvalidInputError


def _rows(n: int = 40, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = np.where(np.arange(n) % 2 == 0, "control", "treated")
    counts = rng.poisson(5.0, size=(n, 5)).astype(float)
    return {
        "group": groups,
        **{f"gene{k}": counts[:, k] for k in range(5)},
        "cell_type": rng.choice(["B", "T", "NK"], n),
        "dose": np.where(groups == "treated", rng.uniform(0, 1, n), 0.0),
    }


def test_log1p_normalisation_equals_the_plain_formula():
    x = np.array([[1.0, 3.0, 0.0], [0.0, 0.0, 0.0], [2.0, 2.0, 6.0]], dtype=np.float32)
    expected = np.log1p(x / np.maximum(x.sum(1, keepdims=True), 1) * 1e4)
    expected[1] = 0.0
    np.testing.assert_allclose(normalize_counts(x, "log1p"), expected, rtol=1e-6)
    with pytest.raises(InvalidInputError, match="no negative"):
        normalize_counts(-x, "log1p")


def _write_csv(path, rows):
    names = list(rows)
    lines = [",".join(names)] + [
        ",".join(str(rows[c][i]) for c in names) for i in range(len(rows["group"]))
    ]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_table_study(tmp_path, suffix):
    rows = _rows()
    if suffix == ".csv":
        _write_csv(tmp_path / "data.csv", rows)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(rows), tmp_path / "data.parquet")
    options = {"table": f"data{suffix}", "factors": ("cell_type", "dose"), "salient": ("dose",)}
    train = sepclr.datasets.load("table-study", root=tmp_path, **options)
    test = sepclr.datasets.load("table-study", root=tmp_path, split="test", **options)
    assert train.background.shape == (16, 5) and test.target.shape == (4, 5)  # 80/20 per group
    assert train.roles == {"cell_type": "common", "dose": "salient"}
    assert train.factors["cell_type"].dtype == np.int64  # text becomes classes
    assert train.factors["dose"].dtype == np.float64  # numbers stay continuous
    assert set(train.background_factors) == {"cell_type"}
    all_rows = np.concatenate([train.background, train.target, test.background, test.target])
    genes = np.stack([rows[f"gene{k}"] for k in range(5)], 1)
    assert sorted(map(tuple, all_rows)) == sorted(map(tuple, genes.astype(np.float32)))


def test_table_errors(tmp_path):
    rows = _rows()
    _write_csv(tmp_path / "data.csv", rows)
    with pytest.raises(InvalidInputError, match="needs both 'control' and 'patient'"):
        sepclr.datasets.load(
            "table-study", root=tmp_path, target_value="patient", factors=("cell_type", "dose")
        )
    with pytest.raises(InvalidInputError, match="no column 'batch'"):
        sepclr.datasets.load("table-study", root=tmp_path, factors=("batch",))
    with pytest.raises(InvalidInputError, match="must hold numbers"):
        sepclr.datasets.load("table-study", root=tmp_path)  # cell_type taken as a feature
    with pytest.raises(InvalidInputError, match="the group column 'group' cannot be a factor"):
        sepclr.datasets.load("table-study", root=tmp_path, factors=("group", "cell_type"))
    rows["cell_type"][rows["group"] == "treated"] = "B"
    _write_csv(tmp_path / "data.csv", rows)
    with pytest.raises(InvalidInputError, match="'cell_type' takes one value over the train"):
        sepclr.datasets.load("table-study", root=tmp_path, factors=("cell_type",))


def test_an_anndata_study_with_sparse_counts(tmp_path):
    import anndata
    import pandas as pd

    rows = _rows(60, seed=1)
    counts = np.stack([rows[f"gene{k}"] for k in range(5)], 1).astype(np.float32)
    obs = pd.DataFrame(
        {"condition": rows["group"], "cell_type": rows["cell_type"], "dose": rows["dose"]}
    )
    obs.index = obs.index.astype(str)
    anndata.AnnData(X=scipy.sparse.csr_matrix(counts), obs=obs).write_h5ad(tmp_path / "data.h5ad")
    options = {"factors": ("cell_type", "dose"), "salient": ("dose",)}
    train = sepclr.datasets.load("anndata-study", root=tmp_path, **options)
    test = sepclr.datasets.load("anndata-study", root=tmp_path, split="test", **options)
    assert len(train.background) + len(test.background) == 30 and len(test.target) == 6
    normalised = normalize_counts(counts, "log1p")
    assert {tuple(r) for r in np.round(train.target, 4)} <= {
        tuple(r) for r in np.round(normalised, 4)
    }
    with pytest.raises(InvalidInputError, match="obs has no column 'batch'"):
        sepclr.datasets.load("anndata-study", root=tmp_path, factors=("batch",))
    model = sepclr.SepCLR(4, 4, epochs=2, batch_size=16, verbose=False, device="cpu")
    model.fit(train.background, train.target)  # the MLP path takes the genes
    assert model.transform(test.target)[1].shape == (6, 4)
    assert train.feature_names == [f"{k}" for k in range(5)]  # anndata's default var_names


def test_cells_are_read_by_gene_name_and_a_gene_named_twice_is_refused(tmp_path, capsys):
    import anndata
    import pandas as pd

    from sepclr import cli, run

    rows = _rows(60, seed=1)
    counts = np.stack([rows[f"gene{k}"] for k in range(5)], 1).astype(np.float32)
    obs = pd.DataFrame({"condition": rows["group"]}, index=[f"c{i}" for i in range(60)])
    var = pd.DataFrame(index=[f"g{k}" for k in range(5)])
    cells = anndata.AnnData(X=counts, obs=obs, var=var)
    cells.write_h5ad(tmp_path / "data.h5ad")
    cells[:, ["g4", "g2", "g0", "g1", "g3"]].write_h5ad(tmp_path / "shuffled.h5ad")
    cells[:, ["g0", "g1", "g2", "g3"]].write_h5ad(tmp_path / "fewer.h5ad")
    argv = ["fit", "--dataset", "anndata-study", "--data-dir", str(tmp_path), "--quiet"]
    argv += ["--method", "cpca", "--common-dim", "2", "--salient-dim", "2", "--no-evaluate"]
    assert cli.main([*argv, "--out", str(tmp_path / "r")]) == 0
    codes = [
        np.load(run.transform(tmp_path / "r", tmp_path / f"{n}.h5ad", tmp_path / f"{n}.npz"))
        for n in ("data", "shuffled")
    ]
    np.testing.assert_array_equal(codes[0]["salient"], codes[1]["salient"])
    with pytest.raises(InvalidInputError, match=r"fewer\.h5ad lack 1 of the 5 genes .*first: g4"):
        run.transform(tmp_path / "r", tmp_path / "fewer.h5ad", tmp_path / "c.npz")
    cells.var_names = ["g0", "g1", "g1", "g3", "g4"]
    cells.write_h5ad(tmp_path / "data.h5ad")
    with pytest.raises(InvalidInputError, match="names the gene 'g1' twice"):
        sepclr.datasets.load("anndata-study", root=tmp_path)
    capsys.readouterr()


def test_a_missing_optional_library_is_named_with_its_extra(tmp_path, monkeypatch):
    from sepclr.data.readers import read_columns

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(
        InvalidInputError, match=r"reading Parquet needs pyarrow: pip install 'sepclr\[tables\]'"
    ):
        read_columns(tmp_path / "data.parquet")
