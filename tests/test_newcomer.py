"""A newcomer's habits: group columns of numbers, and whatever else the first hour brings."""

import numpy as np
import pandas as pd
import pytest

from sepclr.data.ca_dataset import in_group
from sepclr.data.tables import table_study


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ([0, 1, 1, 0], 0, [True, False, False, True]),
        ([0, 1, 1, 0], "1", [False, True, True, False]),
        ([0.0, 1.0, 2.5], 1, [False, True, False]),
        (["0", "1", "x"], 0, [True, False, False]),
        (["a", "b"], "b", [False, True]),
        ([0, 1], "control", [False, False]),
        ([True, False], True, [True, False]),
    ],
)
def test_group_values_are_compared_as_the_column_holds_them(column, value, expected):
    assert in_group(np.asarray(column), value).tolist() == expected


@pytest.mark.parametrize("values", [(0, 1), ("0", "1")])
def test_a_table_with_a_0_1_group_column_splits_into_its_groups(tmp_path, values):
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    table["group"] = np.repeat([0, 1], 20)
    table.to_csv(tmp_path / "data.csv", index=False)
    data = table_study(root=tmp_path, background_value=values[0], target_value=values[1])
    assert len(data.background) + len(data.target) == 32  # 20 % held out
    assert data.feature_names == ["a", "b", "c"]


def test_cpca_fits_a_small_table_with_its_defaults_and_keeps_a_given_size(tmp_path):
    import sepclr
    from sepclr.errors import InvalidInputError

    rng = np.random.default_rng(0)
    background, target = rng.normal(size=(60, 13)), rng.normal(size=(50, 13))
    model = sepclr.CPCA().fit(background, target)
    common, salient = model.transform(target)
    assert common.shape == (50, 13) and salient.shape == (50, 13)
    model.save(tmp_path / "m")
    assert sepclr.load(tmp_path / "m").transform(target)[1].shape == (50, 13)
    assert sepclr.CPCA(salient_dim=4).fit(background, target).transform(target)[1].shape[1] == 4
    with pytest.raises(InvalidInputError, match=r"salient_dim=32 is larger than .* \(13\)"):
        sepclr.CPCA(salient_dim=32).fit(background, target)


def test_a_table_run_says_which_factors_are_common_and_how_to_name_a_salient_one(tmp_path):
    from sepclr import cli

    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(80, 4)), columns=["a", "b", "c", "d"])
    table["group"] = np.repeat(["control", "treated"], 40)
    table["kind"] = np.tile(["x", "y"], 40)
    table.to_csv(tmp_path / "data.csv", index=False)
    argv = ["fit", "--dataset", "table-study", "--data-dir", str(tmp_path), "--method", "cpca"]
    argv += ["--dataset-option", "factors=kind", "--quiet", "--out", str(tmp_path / "run")]
    assert cli.main(argv) == 0
    text = (tmp_path / "run" / "results.md").read_text()
    assert "Factors: kind (common). A factor is scored as common unless" in text
    assert "--dataset-option salient=NAME" in text
