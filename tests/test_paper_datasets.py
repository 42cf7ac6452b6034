"""The paper's CA datasets built from generated files in the original formats: sizes,
splits, mixing and factors as the official code builds them."""

import numpy as np
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
from sepclr.data.ca_dataset import ProbeProtocol
from sepclr.errors import InvalidInputError


@pytest.fixture(scope="module")
def cifar_mnist_root(tmp_path_factory):
    """Full-size files: 5 x 10,000 CIFAR-10 training images, 10,000 test; 60,000 + 10,000
    MNIST digits."""
    root = tmp_path_factory.mktemp("cifar-mnist")
    cifar = write_cifar(root, per_batch=10_000, test=10_000)
    mnist = write_mnist(root, train=60_000, test=10_000)
    return root, cifar, mnist


@pytest.mark.parametrize(("split", "n"), [("train", 25_000), ("test", 500)])
def test_cifar_mnist_sizes_and_mixing(cifar_mnist_root, split, n):
    root, cifar, mnist = cifar_mnist_root
    data = sepclr.datasets.load("cifar-mnist", root=root, split=split)
    objects, object_labels = cifar[split]
    digits, digit_labels = mnist[split]
    assert data.background.shape == (n, 3, 32, 32) and data.target.shape == (n, 3, 32, 32)
    for row in (0, n - 1):
        np.testing.assert_allclose(data.background[row], 0.5 * objects[row] / 255.0, rtol=1e-6)
        digit = np.pad(digits[n + row], 2)[None].repeat(3, 0)
        expected = (0.5 * objects[n + row] + 0.5 * digit) / 255.0
        np.testing.assert_allclose(data.target[row], expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(data.factors["digit"], digit_labels[n : 2 * n])
    np.testing.assert_array_equal(data.factors["object"], object_labels[n : 2 * n])
    np.testing.assert_array_equal(data.background_factors["object"], object_labels[:n])
    assert data.roles == {"digit": "salient", "object": "common"}
    assert data.protocol == ProbeProtocol(accuracy=True)  # Table 1's plain accuracy
    assert data.background.max() <= 0.5 and data.target.max() <= 1.0


def test_cifar_mnist_needs_enough_images(tmp_path):
    write_cifar(tmp_path, per_batch=10, test=10)
    write_mnist(tmp_path, train=60, test=20)
    with pytest.raises(InvalidInputError, match="needs 50000 CIFAR-10"):
        sepclr.datasets.load("cifar-mnist", root=tmp_path)


def test_dsprites_digit_grid(tmp_path):
    images, latents = write_dsprites(tmp_path, 800)
    mnist = write_mnist(tmp_path, train=200, test=100)
    data = sepclr.datasets.load("dsprites-digit-grid", root=tmp_path, n_train=60, n_test=20)
    test = sepclr.datasets.load(
        "dsprites-digit-grid", root=tmp_path, split="test", n_train=60, n_test=20
    )
    assert data.background.shape == (30, 1, 64, 64) and data.target.shape == (30, 1, 64, 64)
    assert test.background.shape == (10, 1, 64, 64)
    assert data.background.dtype == np.uint8
    orientation = data.factors["orientation"]
    assert (np.abs(orientation) < np.pi / 4).all() and (orientation < 0).any()
    assert set(np.unique(data.factors["shape"])) <= {0, 1, 2}
    # each quadrant of a background image is a padded MNIST training digit of its class
    padded = np.pad(mnist["train"][0], ((0, 0), (2, 2), (2, 2)))
    for digit, (top, left) in {1: (0, 0), 3: (0, 32), 2: (32, 0), 4: (32, 32)}.items():
        quadrant = data.background[0, 0, top : top + 32, left : left + 32]
        matches = [
            i for i in np.flatnonzero(mnist["train"][1] == digit) if (padded[i] == quadrant).all()
        ]
        assert matches, f"the {digit} quadrant is not an MNIST {digit}"
    # the target adds a sprite at 255 to a grid: where the sprite is on, the pixel is 255
    sprite_rows = [
        i for i in range(len(images)) if np.isclose(latents[i, 4], data.factors["posX"][0])
    ]
    assert len(sprite_rows) == 1
    on = images[sprite_rows[0]] > 0
    assert (data.target[0, 0][on] == 255).all()
    with pytest.raises(InvalidInputError, match="needs 100000 sprites"):
        sepclr.datasets.load("dsprites-digit-grid", root=tmp_path, n_train=99_990, n_test=10)


@pytest.mark.parametrize("size", [128, 64])
def test_celeba_accessories_groups_balance_and_split(tmp_path, size):
    write_celeba(tmp_path, per_kind=10)
    scale = 10 / 6000  # 10 per sex in the background, 5 per sex in each target group
    train = sepclr.datasets.load(
        "celeba-accessories", root=tmp_path, size=size, per_sex_scale=scale
    )
    test = sepclr.datasets.load(
        "celeba-accessories", root=tmp_path, split="test", size=size, per_sex_scale=scale
    )
    assert len(train.background) + len(test.background) == 20
    assert len(train.target) + len(test.target) == 20
    assert len(test.background) + len(test.target) == 8  # 20 % of 40
    assert train.target.shape[1:] == (3, size, size) and train.target.dtype == np.uint8
    sexes = np.concatenate([train.background_factors["sex"], test.background_factors["sex"]])
    assert sexes.sum() == 10  # half of the background is male
    accessories = np.concatenate([train.factors["accessory"], test.factors["accessory"]])
    assert (np.bincount(accessories) == [10, 10]).all()
    assert train.protocol == ProbeProtocol(group_probe="representation")
    with pytest.raises(InvalidInputError, match="needs 11 images"):
        sepclr.datasets.load("celeba-accessories", root=tmp_path, per_sex_scale=11 / 6000)


def test_chexpert_subtypes_filters_rows_like_the_official_code(tmp_path):
    base = {"Frontal/Lateral": "Frontal", "AP/PA": "AP", "Sex": "Female", "Age": "50"}
    rows = [
        base | {"No Finding": "1.0"},  # 0 healthy
        base | {"No Finding": "1.0", "Sex": "Male", "Age": "70"},  # 1 healthy
        base | {"Cardiomegaly": "1.0"},  # 2 cardiomegaly
        base | {"Edema": "1.0"},  # 3 edema
        base | {"Pleural Effusion": "1.0"},  # 4 effusion
        base | {"Edema": "1.0", "Cardiomegaly": "1.0"},  # two findings: out
        base | {"Edema": "1.0", "Cardiomegaly": "-1.0"},  # uncertain finding: out
        base | {"Edema": "1.0", "Pneumonia": "-1.0"},  # excluded finding: out
        base | {"Frontal/Lateral": "Lateral", "No Finding": "1.0"},  # lateral: out
        base | {"AP/PA": "PA", "No Finding": "1.0"},  # PA: out
        base | {"Edema": "1.0", "Age": "40"},  # 10 edema
        base | {"Edema": "1.0", "Age": "41"},  # over the edema cap of 2: out
        base | {"No Finding": "1.0"},  # 12 healthy
    ]
    write_chexpert(tmp_path, rows)
    options = {"size": 32, "healthy_cap": 3, "disease_cap": 2}
    train = sepclr.datasets.load("chexpert-subtypes", root=tmp_path, **options)
    test = sepclr.datasets.load("chexpert-subtypes", root=tmp_path, split="test", **options)
    assert len(train.background) + len(test.background) == 3
    subtypes = np.concatenate([train.factors["subtype"], test.factors["subtype"]])
    assert sorted(subtypes.tolist()) == [0, 1, 1, 2]
    assert train.background.shape[1:] == (1, 32, 32)
    ages = np.concatenate([train.factors["age"], test.factors["age"]])
    assert sorted(ages.tolist()) == [40.0, 50.0, 50.0, 50.0]
    assert train.roles == {"subtype": "salient", "sex": "common", "age": "common"}
    assert train.protocol == ProbeProtocol(group_probe="head")


def test_odir_subtypes_keeps_eyes_of_single_label_patients(tmp_path):
    patients = (
        [{"N": "1"}] * 6  # normal: 12 eyes, capped at 10 below
        + [{"D": "1"}] * 3  # diabetes: 6 eyes
        + [{"G": "1", "H": "1"}] * 2  # glaucoma (hypertension ignored): 4 eyes
        + [{"C": "1", "M": "1"}]  # two diseases: out
        + [{"O": "1"}]  # only "other": out
        + [{"A": "1", "Patient Age": "1", "Patient Sex": "Male"}]  # AMD, unknown age: 2 eyes
    )
    write_odir(tmp_path, patients)
    options = {"size": 32, "cap_scale": 10 / 2300}  # caps: N 10, others 2 (350 -> 1.5 -> 2)
    train = sepclr.datasets.load("odir-subtypes", root=tmp_path, **options)
    test = sepclr.datasets.load("odir-subtypes", root=tmp_path, split="test", **options)
    assert len(train.background) + len(test.background) == 10
    subtypes = np.concatenate([train.factors["subtype"], test.factors["subtype"]])
    assert sorted(subtypes.tolist()) == [0, 0, 1, 1, 3, 3]  # D, G, A capped at 2 eyes each
    eyes = np.concatenate([train.factors["eye"], test.factors["eye"]])
    assert sorted(eyes.tolist()) == [0, 0, 0, 1, 1, 1]
    ages = np.concatenate([train.factors["age"], test.factors["age"]])
    assert 1.0 not in ages.tolist()  # the unknown age became the mean
    assert train.target.shape[1:] == (3, 32, 32)
    assert set(train.roles) == {"subtype", "age", "sex", "eye"}
    assert train.protocol == ProbeProtocol(group_probe="head")
