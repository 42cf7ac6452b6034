"""The contract every registered method keeps: fit (returning the model), transform and
fit_transform, DataFrame columns, reconstruct, save/load, scikit-learn's parameter protocol,
the not-fitted error, reproducibility by seed, resumption, and parameters that each change
what the method computes."""

import signal
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

import sepclr
from sepclr.engine import loop
from sepclr.errors import InvalidInputError, NotFittedError, TrainingInterruptedError
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
def test_save_and_load_give_the_same_model(name, fitted, data, tmp_path):
    model = fitted[name]
    model.save(tmp_path / "model")
    assert not list((tmp_path / "model").glob("*.tmp"))
    for loaded in (sepclr.load(tmp_path / "model"), type(model).load(tmp_path / "model")):
        assert type(loaded) is type(model)
        assert loaded.get_params() == model.get_params()
        _assert_same_codes(model, loaded, data.target)
        if model.reconstructs:
            np.testing.assert_array_equal(
                model.reconstruct(data.target), loaded.reconstruct(data.target)
            )


def _assert_same_codes(first, second, x) -> None:
    for ours, theirs in zip(first.transform(x), second.transform(x), strict=True):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_the_model_and_fit_transform_its_codes(name, fitted, data):
    model = _small(name)
    assert model.fit(data.background, data.target) is model
    common, salient = _small(name).fit_transform(data.background, data.target)
    both = np.concatenate([data.background, data.target])
    expected = fitted[name].transform(both)
    np.testing.assert_array_equal(common, expected[0])
    np.testing.assert_array_equal(salient, expected[1])


@pytest.mark.parametrize("name", NAMES)
def test_dataframe_columns_are_kept_and_checked(name, fitted, data, tmp_path):
    columns = [f"gene{i}" for i in range(data.target.shape[1])]
    frames = [pd.DataFrame(group, columns=columns) for group in (data.background, data.target)]
    model = _small(name).fit(*frames)
    assert list(model.feature_names_in_) == columns
    named = model.transform(frames[1])[1]
    np.testing.assert_array_equal(named, model.transform(frames[1][columns])[1])
    with pytest.raises(InvalidInputError, match="no column names"):
        model.transform(data.target)
    with pytest.raises(InvalidInputError, match="another order; select them in the fitted order"):
        model.transform(frames[1][columns[::-1]])
    with pytest.raises(InvalidInputError, match="different columns"):
        _small(name).fit(frames[0], frames[1].rename(columns={"gene0": "other"}))
    loaded = sepclr.load(model.save(tmp_path / "model"))
    assert list(loaded.feature_names_in_) == columns
    np.testing.assert_array_equal(loaded.transform(frames[1])[1], named)


@pytest.mark.parametrize("name", NAMES)
def test_reconstruct_rebuilds_inputs_only_where_a_decoder_exists(name, fitted, data):
    model = fitted[name]
    if name == "sepclr":
        assert not model.reconstructs
        with pytest.raises(InvalidInputError, match="decoder_weight"):
            model.reconstruct(data.target)
        model = _small(name, objective="extended", decoder_weight=1.0)
        model.fit(data.background, data.target)
    if not model.reconstructs:
        assert not hasattr(model, "reconstruct")
        return
    rebuilt = model.reconstruct(data.target[:5])
    assert rebuilt.shape == (5, data.target.shape[1]) and rebuilt.dtype == np.float32
    assert np.isfinite(rebuilt).all()
    assert not np.array_equal(rebuilt, model.reconstruct(data.target[:5], salient=False))


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
def test_the_same_seed_gives_the_same_weights(name, fitted, data):
    again = _small(name).fit(data.background, data.target)
    first, second = fitted[name]._state_tensors(), again._state_tensors()
    assert first.keys() == second.keys()
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=0, atol=0, msg=key)
    _assert_same_codes(fitted[name], again, data.target)
    if METHODS[name].cls.trains_by_epochs:
        other = _small(name, seed=1).fit(data.background, data.target)
        assert not np.array_equal(other.transform(data.target)[1], again.transform(data.target)[1])


RESUMED = [name for name in NAMES if METHODS[name].cls.trains_by_epochs]


@pytest.mark.parametrize("name", RESUMED)
def test_a_run_stopped_inside_an_epoch_resumes_to_the_uninterrupted_result(
    name, data, tmp_path, monkeypatch
):
    """A SIGTERM during the second epoch stops training after that step, with a checkpoint;
    resuming gives the weights and history of a run that was never stopped."""
    params = {"epochs": 3, "batch_size": 16, "seed": 2}
    reference = _small(name, **params).fit(data.background, data.target)
    calls = []
    split = loop.split_batches

    def split_then_signal(order, batch_size):
        calls.append(1)
        if len(calls) == 2:  # the second epoch's batches: stop at its first step
            signal.raise_signal(signal.SIGTERM)
        return split(order, batch_size)

    monkeypatch.setattr(loop, "split_batches", split_then_signal)
    fit = {"checkpoint_dir": tmp_path / "checkpoint"}
    with pytest.raises(
        TrainingInterruptedError, match="at step 1 of epoch 2 of 3 \\(1 epochs complete\\)"
    ):
        _small(name, **params).fit(data.background, data.target, **fit)
    monkeypatch.setattr(loop, "split_batches", split)
    starts = []
    run_epoch = loop._EpochRunner.run_epoch

    def recorded(runner, progress, stop):
        starts.append((progress.epoch, progress.step))
        return run_epoch(runner, progress, stop)

    monkeypatch.setattr(loop._EpochRunner, "run_epoch", recorded)
    resumed = _small(name, **params).fit(data.background, data.target, **fit, resume=True)
    assert starts == [(1, 1), (2, 0)]  # from inside the second epoch, not from the start
    first, second = resumed._state_tensors(), reference._state_tensors()
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=0, atol=0, msg=key)
    assert _durations_left_out(resumed.history_) == _durations_left_out(reference.history_)


def _durations_left_out(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in epoch.items() if k != "seconds"} for epoch in history]


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


def _covariates(data):
    """Both groups' covariates: the common factor of the table, and a random number."""
    rng = np.random.default_rng(1)
    return [
        {"shared": np.asarray(values).astype(str), "dose": rng.normal(size=len(values))}
        for values in (data.background_factors["shared"], data.factors["shared"])
    ]


@pytest.mark.parametrize("name", NAMES)
def test_covariates_are_kept_with_the_model_and_checked(name, data, tmp_path):
    background, target = _covariates(data)
    model = _small(name, salient_dim=4).fit(
        data.background, data.target, background_covariates=background, target_covariates=target
    )
    assert [(c.name, c.kind) for c in model.covariates_.columns] == [
        ("shared", "categorical"),
        ("dose", "continuous"),
    ]
    loaded = sepclr.load(model.save(tmp_path / "model"))
    assert loaded.covariates_ == model.covariates_
    _assert_same_codes(model, loaded, data.target)  # transform needs no covariates
    salient = model.transform(data.target)[1].astype(np.float64)
    indicators = np.asarray(target["shared"])[:, None] == np.unique(target["shared"])[None, :]
    cross = (salient - salient.mean(0)).T @ (indicators - indicators.mean(0)) / len(salient)
    assert np.abs(cross).max() < 1e-4  # no linear trace of a covariate in the train targets' s
    with pytest.raises(InvalidInputError, match="salient_dim=2 would keep nothing"):
        _small(name).fit(
            data.background, data.target, background_covariates=background, target_covariates=target
        )
    with pytest.raises(InvalidInputError, match="'dose' is given for the target group only"):
        _small(name, salient_dim=4).fit(
            data.background,
            data.target,
            background_covariates={"shared": background["shared"]},
            target_covariates=target,
        )
    plain = _small(name).fit(data.background, data.target)
    assert not hasattr(plain, "covariates_")
    _assert_same_codes(plain, _small(name).fit(data.background, data.target), data.target)


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
