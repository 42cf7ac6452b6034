"""The paper's recipes: each runs one epoch end to end on tiny generated files in its
dataset's original format, with the recipe's settings reaching the model."""

import json
import math

import pytest
from source_files import (
    write_celeba,
    write_chexpert,
    write_cifar,
    write_dsprites,
    write_mnist,
    write_odir,
)

import sepclr
from sepclr import cli
from sepclr.recipes import PRESETS

BASE = {"Frontal/Lateral": "Frontal", "AP/PA": "AP", "Sex": "Male", "Age": "60"}
FILES = {
    "cifar-mnist": (
        lambda root: (write_cifar(root, per_batch=8, test=20), write_mnist(root, 60, 20)),
        ["per_group=10"],
    ),
    "celeba-accessories": (
        lambda root: write_celeba(root, per_kind=4),
        [f"per_sex_scale={4 / 6000}", "size=64"],
    ),
    "odir-subtypes": (
        lambda root: write_odir(root, [{"N": "1"}] * 6 + [{"D": "1"}] * 3 + [{"G": "1"}] * 3),
        ["size=64"],
    ),
    "dsprites-digit-grid": (
        lambda root: (write_dsprites(root, 400), write_mnist(root, 60, 20)),
        ["n_train=24", "n_test=16"],
    ),
    "chexpert-subtypes": (
        lambda root: write_chexpert(
            root,
            [BASE | {"No Finding": "1.0"}] * 12
            + [BASE | {"Edema": "1.0"}] * 6
            + [BASE | {"Cardiomegaly": "1.0"}] * 6,
        ),
        [],
    ),
}


PAPER = sorted(set(PRESETS) - {"single-cell"})  # the cells' recipe: tests/test_cells.py


def test_every_preset_of_the_paper_has_a_smoke_run():
    assert set(FILES) == set(PAPER)


@pytest.mark.parametrize("name", PAPER)
def test_one_epoch_of_each_preset_on_generated_files(tmp_path, name):
    write, options = FILES[name]
    data = tmp_path / "data"
    write(data)
    out = tmp_path / "run"
    argv = ["fit", "--preset", name, "--out", str(out), "--data-dir", str(data)]
    argv += ["--epochs", "1", "--batch-size", "8", "--width", "1", "--quiet", "--no-evaluate"]
    argv += ["--no-download"]
    for option in options:
        argv += ["--dataset-option", option]
    assert cli.main(argv) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["preset"] == name and run["dataset"] == PRESETS[name].dataset
    model = sepclr.load(out)
    recipe = PRESETS[name].params
    for key in ("common_dim", "salient_dim", "salient_weight", "independence_weight", "backbone"):
        assert model.get_params()[key] == recipe[key]
    assert model.batch_size == 8 and model.epochs == 1  # flags override the recipe
    assert model.view_options_["crop_scale"] == recipe["views"]["crop_scale"]
    assert len(model.history_) == 1 and math.isfinite(model.history_[0]["loss"])


def test_a_preset_with_another_method_is_refused(tmp_path, capsys):
    argv = ["fit", "--preset", "cifar-mnist", "--method", "cvae", "--out", str(tmp_path)]
    assert cli.main(argv) == 1
    assert "SepCLR recipe" in capsys.readouterr().err


def test_the_supervised_preset_reports_each_attribute(tmp_path):
    """The dSprites recipe passes the dataset's target factors as the known attributes and
    its evaluation adds one row per salient attribute; continuous factors are probed by
    regression (MAE columns)."""
    data = tmp_path / "data"
    write_dsprites(data, 600)
    write_mnist(data, 60, 20)
    out = tmp_path / "run"
    argv = ["fit", "--preset", "dsprites-digit-grid", "--out", str(out), "--data-dir", str(data)]
    argv += ["--epochs", "1", "--batch-size", "16", "--width", "1", "--quiet", "--no-download"]
    argv += ["--dataset-option", "n_train=64", "--dataset-option", "n_test=48"]
    assert cli.main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["attributes"]) == {"shape", "scale", "orientation", "posX", "posY"}
    row = results["rows"]["SepCLR (dsprites-digit-grid)"]
    assert {"S_shape", "C_shape", "S_scale_MAE", "C_posY_MAE", "delta_TOT"} <= set(row)
    assert all(math.isfinite(v) for v in row.values())
