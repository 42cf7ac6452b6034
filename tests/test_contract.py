"""The contract every registered method keeps: fit, transform, save/load, scikit-learn's
parameter protocol, the not-fitted error and reproducibility by seed."""

import numpy as np
import pytest
from sklearn.base import clone

import sepclr
from sepclr.errors import InvalidInputError, NotFittedError
from sepclr.methods.parameters import Number, declared
from sepclr.registry import METHODS

FAST_TRAINED = {"epochs": 1, "batch_size": 16, "verbose": False, "device": "cpu"}
NAMES = sorted(METHODS)


def _small(name: str, **params) -> sepclr.methods.ContrastiveEstimator:
    cls = METHODS[name].cls
    fast = FAST_TRAINED if cls.trains_by_epochs else {"n_alphas": 6}
    return cls(**{"common_dim": 3, "salient_dim": 2, **fast, **params})


@pytest.fixture(scope="module")
def data():
    return sepclr.datasets.load("synthetic-tabular", n=48, features=12)


@pytest.fixture(scope="module")
def fitted(data):
    return {name: _small(name).fit(data.background, data.target) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_transform_gives_float32_codes_of_the_declared_sizes(name, fitted, data):
    common, salient = fitted[name].transform(data.target[:7])
    assert common.shape == (7, 3) and salient.shape == (7, 2)
    assert common.dtype == np.float32 and salient.dtype == np.float32
    assert np.isfinite(common).all() and np.isfinite(salient).all()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float16, np.float64, np.int64, np.uint8, np.bool_])
def test_transform_casts_every_real_input_dtype_to_the_float32_codes(name, dtype, fitted, data):
    rows = data.target[:7]
    cast = rows.astype(dtype) if dtype is not np.bool_ else rows > 0
    common, salient = fitted[name].transform(cast)
    reference = fitted[name].transform(cast.astype(np.float32))
    assert common.dtype == np.float32 and salient.dtype == np.float32
    np.testing.assert_array_equal(common, reference[0])
    np.testing.assert_array_equal(salient, reference[1])


@pytest.mark.parametrize("name", NAMES)
def test_transform_refuses_complex_input_in_one_line(name, fitted, data):
    with pytest.raises(InvalidInputError, match="complex"):
        fitted[name].transform(data.target[:7].astype(np.complex64))


@pytest.mark.parametrize("name", NAMES)
def test_save_and_load_give_the_same_codes(name, fitted, data, tmp_path):
    model = fitted[name]
    model.save(tmp_path / "model")
    loaded = sepclr.load(tmp_path / "model")
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    for ours, theirs in zip(
        model.transform(data.target), loaded.transform(data.target), strict=True
    ):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", NAMES)
def test_clone_and_the_parameter_protocol(name, fitted):
    model = fitted[name]
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "sample_shape_")
    copy.set_params(seed=7)
    assert copy.get_params()["seed"] == 7 and model.get_params()["seed"] == 0
    assert type(model)(**model.get_params()).get_params() == model.get_params()


@pytest.mark.parametrize("name", NAMES)
def test_an_unfitted_model_says_so(name, data):
    with pytest.raises(NotFittedError, match="not fitted"):
        _small(name).transform(data.target)


@pytest.mark.parametrize("name", NAMES)
def test_the_same_seed_gives_the_same_codes(name, fitted, data):
    again = _small(name).fit(data.background, data.target)
    for ours, theirs in zip(
        fitted[name].transform(data.target), again.transform(data.target), strict=True
    ):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_number_is_checked_at_fit(name, data):
    """Each numeric parameter below its declared minimum is refused, naming it, before any
    training."""
    for param, declaration in declared(METHODS[name].cls).items():
        constraint = declaration.constraint
        if not isinstance(constraint, Number) or constraint.minimum is None:
            continue
        with pytest.raises(InvalidInputError, match=param):
            _small(name, **{param: constraint.minimum - 1}).fit(data.background, data.target)


@pytest.mark.parametrize("name", NAMES)
def test_every_method_documents_its_parameters(name):
    cls = METHODS[name].cls
    doc = cls.__doc__ or ""
    assert "Parameters\n    ----------" in doc
    for param in cls().get_params():
        assert f"\n    {param} : " in doc, param
