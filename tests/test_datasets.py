from pathlib import Path

import numpy as np
import pytest

import sepclr
from sepclr.data import locations
from sepclr.data.catalog import CADataset
from sepclr.data.idx import write_idx
from sepclr.data.sets.digits_on_fashion import mnist_like_digits
from sepclr.data.sources import load_sklearn_digits
from sepclr.errors import DataNotFoundError, InvalidInputError


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No data anywhere but where a test puts it."""
    monkeypatch.setattr(locations, "DEBIAN_DATA", tmp_path / "debian")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SEPCLR_DATA", raising=False)
    return tmp_path


def make_fashion(root: Path, n_train: int = 10_000, n_test: int = 2_000) -> Path:
    """Fashion-MNIST files in the original format, with blank images and labels equal to the
    image index, so each row's origin can be read back."""
    folder = root / "fashion-mnist"
    folder.mkdir(parents=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", np.zeros((n, 28, 28), np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n, dtype=np.int32))
    return folder


def test_not_found_error_lists_places_and_how_to_get(isolated):
    with pytest.raises(DataNotFoundError) as info:
        sepclr.datasets.load("digits-on-fashion", root=isolated / "nowhere")
    message = str(info.value)
    assert str(isolated / "nowhere") in message
    assert str(isolated / "debian") in message
    assert "apt-get install dataset-fashion-mnist" in message


def test_location_order(isolated, monkeypatch):
    env_root = isolated / "env"
    make_fashion(env_root, 4, 4)
    monkeypatch.setenv("SEPCLR_DATA", str(env_root))
    paths = sepclr.data.sources.fashion_mnist_files("train")
    assert paths[0].parent == env_root / "fashion-mnist"
    explicit = isolated / "explicit"
    make_fashion(explicit, 4, 4)
    assert sepclr.data.sources.fashion_mnist_files("train", explicit)[0].parent.parent == explicit


def test_mnist_like_digits_shape_and_centring():
    images, _ = load_sklearn_digits()
    digits = mnist_like_digits(images[:5])
    assert digits.shape == (5, 28, 28)
    assert digits.min() >= 0.0 and digits.max() <= 1.0
    assert np.all(digits[:, :4, :] == 0) and np.all(digits[:, :, 24:] == 0)
    # Closed form on constant images: the box holds the logistic of the scaled value.
    constant = mnist_like_digits(np.stack([np.zeros((8, 8)), np.full((8, 8), 8.0)]))
    np.testing.assert_allclose(constant[0, 4:24, 4:24], 1 / (1 + np.exp(12 * 0.45)), rtol=1e-5)
    np.testing.assert_allclose(constant[1, 4:24, 4:24], 1 / (1 + np.exp(-12 * 0.05)), rtol=1e-5)


def test_digits_on_fashion_construction(isolated):
    root = isolated / "data"
    make_fashion(root)
    train = sepclr.datasets.load("digits-on-fashion", root=root, size="small")
    test = sepclr.datasets.load("digits-on-fashion", root=root, split="test", size="small")
    assert train.background.shape == (5_000, 1, 28, 28) == train.target.shape
    assert test.target.shape == (1_000, 1, 28, 28)
    assert train.roles == {"digit": "salient", "object": "common"}
    # Blank fashion images: backgrounds are 0 and targets are half a digit.
    assert train.background.max() == 0.0
    assert train.target.max() <= 0.5 + 1e-6
    # Background and target Fashion images are disjoint (labels are image indices).
    for split in (train, test):
        assert not set(split.factors["object"]) & set(split.background_factors["object"])
        assert len(set(split.factors["object"])) == len(split.factors["object"])
    # Each target holds a digit of its label, and no digit image serves both splits.
    images, labels = load_sklearn_digits()
    strokes = 0.5 * mnist_like_digits(images)
    train_keys = {t.tobytes() for t in train.target[:, 0]}
    test_keys = {t.tobytes() for t in test.target[:, 0]}
    assert not train_keys & test_keys
    lookup = {s.tobytes(): y for s, y in zip(strokes, labels, strict=True)}
    for image, digit in zip(train.target[:50, 0], train.factors["digit"][:50], strict=True):
        assert lookup[image.tobytes()] == digit


def test_digits_on_fashion_is_deterministic(isolated):
    root = isolated / "data"
    make_fashion(root)
    a = sepclr.datasets.load("digits-on-fashion", root=root, size="small")
    b = sepclr.datasets.load("digits-on-fashion", root=root, size="small")
    np.testing.assert_array_equal(a.target, b.target)
    np.testing.assert_array_equal(a.factors["digit"], b.factors["digit"])


def test_unknown_dataset_and_size(isolated):
    with pytest.raises(InvalidInputError, match="available: anndata-study, "):
        sepclr.datasets.load("cifar-11")
    with pytest.raises(InvalidInputError, match="size"):
        sepclr.datasets.load("digits-on-fashion", size="huge")


def test_real_fashion_mnist_if_installed():
    if not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists():
        pytest.skip("Fashion-MNIST is not installed on this machine")
    train = sepclr.datasets.load("digits-on-fashion", split="test", size="small")
    assert sorted(np.unique(train.factors["object"])) == list(range(10))
    assert sorted(np.unique(train.factors["digit"])) == list(range(10))
    assert train.background.min() >= 0.0 and train.background.max() <= 0.5


def test_synthetic_tabular():
    data = sepclr.datasets.load("synthetic-tabular", n=100)
    assert data.background.shape == (100, 20) == data.target.shape
    assert data.roles == {"salient": "salient", "shared": "common"}


def test_ca_dataset_checks_labels_and_roles():
    x = np.zeros((4, 3), dtype=np.float32)
    good = {"name": "toy", "split": "train", "background": x, "target": x}
    CADataset(**good, factors={"a": np.arange(4)}, roles={"a": "salient"})
    with pytest.raises(InvalidInputError, match="3 labels for 4 target samples"):
        CADataset(**good, factors={"a": np.arange(3)}, roles={"a": "salient"})
    with pytest.raises(InvalidInputError, match="5 labels for 4 background samples"):
        CADataset(
            **good,
            factors={"a": np.arange(4)},
            roles={"a": "common"},
            background_factors={"a": np.arange(5)},
        )
    with pytest.raises(InvalidInputError, match="unknown factors"):
        CADataset(**good, factors={"a": np.arange(4)}, roles={"b": "salient"})
    with pytest.raises(InvalidInputError, match="'salient' or 'common'"):
        CADataset(**good, factors={"a": np.arange(4)}, roles={"a": "shared"})
    with pytest.raises(InvalidInputError, match="shape"):
        CADataset(**{**good, "target": np.zeros((4, 2))}, factors={}, roles={})


def test_loader_options_are_checked():
    with pytest.raises(InvalidInputError, match="did you mean 'digits-on-fashion'"):
        sepclr.datasets.load("digits-on-fashon")
    with pytest.raises(InvalidInputError, match="has no option bogus; its options are n"):
        sepclr.datasets.load("synthetic-tabular", bogus=1)
    with pytest.raises(InvalidInputError, match="n >= 2"):
        sepclr.datasets.load("synthetic-tabular", n=0)
