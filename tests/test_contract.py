"""The contract every registered method keeps: fit, transform, save/load, scikit-learn's
parameter protocol, the not-fitted error and reproducibility by seed."""

import warnings

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


# The parameter-effect contract: every parameter a method declares changes what it computes,
# or the settings that would make it idle are refused. Each entry is a value other than the
# default and the settings under which the parameter acts; an entry keyed (method, name)
# replaces the shared one for that method.
_REDUNDANT = {"redundancy": "linear-hsic", "redundancy_weight": 1.0}
CHANGED = {
    "common_dim": (4, {}),
    "salient_dim": (3, {}),
    "epochs": (3, {}),
    "batch_size": (8, {}),
    "lr": (1e-2, {}),
    "lr_schedule": ("cosine", {}),
    "warmup": (0.5, {}),
    "max_grad_norm": (1e-3, {}),
    "seed": (5, {}),
    "precision": ("bfloat16", {}),
    "backbone": ("resnet18", {"images": True}),
    "objective": ("extended", {}),
    "independence": ("mmd", {}),
    "independence_weight": (1.0, {}),
    "salient_weight": (10.0, {}),
    "infoless_weight": (1.0, {}),
    "bandwidth": (2.0, {}),
    "width": (4, {}),
    "salient_projector": (True, {}),
    "common_projector": (False, {}),
    "salient_background_mix": (0.5, {"objective": "extended"}),
    "redundancy": ("cca", {"objective": "extended", **_REDUNDANT}),
    "redundancy_weight": (5.0, {"objective": "extended", **_REDUNDANT}),
    "conditional_uniformity": (True, {"objective": "extended"}),
    "decoder_weight": (1.0, {"objective": "extended"}),
    "decoder_noise": (0.5, {"objective": "extended", "decoder_weight": 1.0}),
    "residualize": ("salient", {"objective": "extended"}),
    "salient_attributes": ({"a": "discrete", "b": "continuous"}, {"attributes": True}),
    "view_passes": ("separate", {}),
    "views": ({"noise_std": 0.5}, {}),
    "beta_common": (2.0, {}),
    "beta_salient": (2.0, {}),
    "hidden": (8, {}),
    "tc_weight": (50.0, {"epochs": 10}),  # the ReLU penalty is 0 until the critic learns
    "common_mmd_weight": (10.0, {}),
    "salient_mmd_weight": (10.0, {}),
    "background_salient_precision": (1.0, {}),
    "alpha": (5.0, {}),
    "standardize": (False, {}),
    "n_alphas": (3, {}),
    "max_log_alpha": (0.5, {}),
    "n_clusters": (2, {}),
    "max_features": (5, {}),
    ("cpca", "seed"): (5, {"alpha": 1.0, "wide": True}),  # a randomized solver's seed
}
# Parameters that change where or how visibly a method runs, not what it computes.
NOT_IN_RESULTS = {
    "verbose": "the progress display",
    "device": "where it runs (the codes agree across devices to float tolerance)",
    "compile": "the same computation compiled (tests/test_step_speed.py)",
}
# Settings that make another idle, refused with a message.
IDLE = [
    ("sepclr", {"redundancy": "cca"}),
    ("sepclr", {"redundancy_weight": 1.0}),
    ("sepclr", {"decoder_noise": 0.5, "objective": "extended"}),
    ("sepclr", {"independence": "none", "independence_weight": 1.0}),
]
CASES = [
    (name, param)
    for name in NAMES
    for param in declared(METHODS[name].cls)
    if param not in NOT_IN_RESULTS
]


def _effect_inputs(data, wide: bool = False, images: bool = False):
    if wide:  # enough rows and features for scikit-learn's randomized PCA solver
        rng = np.random.default_rng(0)
        return rng.normal(size=(2, 600, 700)).astype(np.float32), {}
    if images:
        rng = np.random.default_rng(0)
        return rng.random((2, 24, 1, 16, 16)).astype(np.float32), {}
    rng = np.random.default_rng(0)
    attributes = {"a": rng.integers(0, 2, len(data.target)), "b": rng.normal(size=len(data.target))}
    return (data.background, data.target), attributes


_DEFAULT_CODES: dict[tuple, tuple] = {}


def _effect_codes(name, context, data, **params):
    """The codes of ``name`` fitted with ``context`` and ``params``, on the inputs that
    ``context``'s flags ask for."""
    context = dict(context)
    flags = {key: bool(context.pop(key, False)) for key in ("wide", "images", "attributes")}
    (background, target), attributes = _effect_inputs(data, flags["wide"], flags["images"])
    model = _small(name, **{**context, **params})
    fit_options = {}
    if params.get("salient_attributes"):
        fit_options["attributes"] = attributes
        model.set_params(salient_dim=len(params["salient_attributes"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bfloat16 on a CPU without its instructions
        model.fit(background, target, **fit_options)
    return model.transform(target)


@pytest.mark.parametrize(("name", "param"), CASES)
def test_every_parameter_changes_the_result(name, param, data):
    value, context = CHANGED.get((name, param), CHANGED.get(param, (None, {})))
    assert value is not None, f"no changed value declared for {name}'s {param}"
    key = (name, tuple(sorted(context.items())))
    if key not in _DEFAULT_CODES:
        _DEFAULT_CODES[key] = _effect_codes(name, context, data)
    changed = _effect_codes(name, context, data, **{param: value})
    assert any(
        a.shape != b.shape or not np.array_equal(a, b)
        for a, b in zip(_DEFAULT_CODES[key], changed, strict=True)
    ), f"{name}: {param}={value!r} left the codes as they were"


@pytest.mark.parametrize(("name", "params"), IDLE)
def test_a_setting_the_others_switch_off_is_refused(name, params, data):
    with pytest.raises(InvalidInputError, match="has no effect"):
        _small(name, **params).fit(data.background, data.target)


def test_every_parameter_has_an_effect_case():
    for name in NAMES:
        for param in declared(METHODS[name].cls):
            assert param in NOT_IN_RESULTS or (name, param) in CHANGED or param in CHANGED, (
                name,
                param,
            )
