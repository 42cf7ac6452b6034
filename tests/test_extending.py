"""What ``docs/extending.md`` promises: a method, an independence term and a dataset are each
one file that registers itself, and every layer (the estimator, the command line, the run
folder, ``sepclr.load``) then takes it with nothing else changed."""

import importlib
import json
import sys
import textwrap

import numpy as np
import pytest

import sepclr
from sepclr import cli
from sepclr.data.catalog import dataset_options
from sepclr.registry import DATASETS, METHODS, TERMS

TERM_FILE = '''
"""An independence term: the squared cross-covariance of the two codes."""
import torch

from sepclr.engine.shard import SINGLE_PROCESS, Shard
from sepclr.registry import register_term

CALLS = []


@register_term("cross-covariance")
def build_cross_covariance():
    def penalty(c: torch.Tensor, s: torch.Tensor, *, shard: Shard = SINGLE_PROCESS):
        CALLS.append(len(c))
        c, s = c - c.mean(dim=0), s - s.mean(dim=0)
        return (c.T @ s / len(c)).pow(2).sum()

    return penalty
'''

METHOD_FILE = '''
"""A method trained by epochs: linear common and salient encoders and a linear decoder,
the salient code of background rows set to 0 before decoding."""
import numpy as np
import torch
from torch import nn

from sepclr.engine.training import TrainingModule
from sepclr.methods.base import TrainedEstimator, prefixed
from sepclr.methods.validation import as_float_tensor
from sepclr.registry import register_method


class LinearNet(nn.Module):
    def __init__(self, features, common_dim, salient_dim):
        super().__init__()
        self.common = nn.Linear(features, common_dim)
        self.salient = nn.Linear(features, salient_dim)
        self.decoder = nn.Linear(common_dim + salient_dim, features)

    def forward(self, x, is_target):
        salient = self.salient(x) * is_target.to(x.dtype)[:, None]
        return self.decoder(torch.cat([self.common(x), salient], dim=1))


class LinearModule(TrainingModule):
    def __init__(self, network):
        super().__init__()
        self.network = network

    def loss(self, batch, forward):
        error = (forward(batch.x, batch.is_target) - batch.x).pow(2).mean()
        return error, {"reconstruction": error}


@register_method("linear-ca", "LinearCA")
class LinearCA(TrainedEstimator):
    """Linear contrastive autoencoder."""

    def _build(self, spec):
        size = int(np.prod(spec.sample_shape))
        return LinearNet(size, int(self.common_dim), int(self.salient_dim))

    def _build_module(self, spec, device):
        return LinearModule(self._build(spec))

    def _keep_trained(self, spec, module, data, device):
        self.network_ = module.network.cpu().eval()

    def _raw_code_function(self, device):
        net = self.network_.to(device)
        return lambda x: (net.common(self.standardiser_(x)), net.salient(self.standardiser_(x)))

    @torch.no_grad()
    def _transform(self, x):
        common, salient = self._raw_code_function(torch.device("cpu"))(as_float_tensor(x, "x"))
        return common.numpy(), salient.numpy()

    def _set_fitted(self, fitted, tensors):
        super()._set_fitted(fitted, tensors)
        self.network_ = self._build(self.resolve_fit(self.sample_shape_))
        self.network_.load_state_dict(prefixed("network", tensors))
'''

DATASET_FILE = '''
"""A dataset: rows of six features; the targets move along feature 0 by a salient amount,
and feature 1's sign is a common side."""
import numpy as np

from sepclr.data.ca_dataset import CADataset
from sepclr.registry import DatasetInfo, register_dataset


def shifted_rows(split="train", root=None, n=150, shift=4.0):
    """Two groups of Gaussian rows.

    Parameters
    ----------
    n : int
        Rows per group.
    shift : float
        How far the most shifted target moves along feature 0.
    """
    rng = np.random.default_rng({"train": 0, "validation": 1, "test": 2}[split])
    background, target = rng.normal(size=(2, n, 6)).astype(np.float32)
    amount = rng.integers(0, 2, n)
    target[:, 0] += shift * amount
    return CADataset(
        "shifted-rows",
        split,
        background,
        target,
        {"amount": amount, "side": (target[:, 1] > 0).astype(np.int64)},
        {"amount": "salient", "side": "common"},
        background_factors={"side": (background[:, 1] > 0).astype(np.int64)},
    )


register_dataset(DatasetInfo("shifted-rows", shifted_rows, "shifted Gaussian rows", "made"))
'''

FAST = ["--quiet", "--device", "cpu", "--epochs", "20", "--batch-size", "64"]


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """The three files, imported as a user's own modules; the registries are restored
    after the test."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    for name, text in (("term", TERM_FILE), ("method", METHOD_FILE), ("dataset", DATASET_FILE)):
        (folder / f"planted_{name}.py").write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(folder))
    for registry, name in ((TERMS, "cross-covariance"), (METHODS, "linear-ca")):
        monkeypatch.setitem(registry, name, None)
    monkeypatch.setitem(DATASETS, "shifted-rows", None)
    for name in ("term", "method", "dataset"):
        monkeypatch.delitem(sys.modules, f"planted_{name}", raising=False)
    modules = {n: importlib.import_module(f"planted_{n}") for n in ("term", "method", "dataset")}
    return modules, tmp_path


def test_a_method_a_term_and_a_dataset_each_from_one_file(plugins):
    modules, tmp_path = plugins
    assert [option for option, _, _ in dataset_options("shifted-rows")] == ["n", "shift"]
    assert dataset_options("shifted-rows")[0][2] == "Rows per group."

    sizes = ["--common-dim", "2", "--salient-dim", "1"]
    linear = ["--method", "linear-ca", *sizes, "--out", str(tmp_path / "linear")]
    assert cli.main(["fit", "--dataset", "shifted-rows", *FAST, *linear]) == 0
    model = sepclr.load(tmp_path / "linear")
    assert type(model).__name__ == "LinearCA"
    assert model.history_[-1]["reconstruction"] < model.history_[0]["reconstruction"]
    results = (tmp_path / "linear" / "results.md").read_text()
    assert "S_amount" in results and "C_side" in results

    term = ["--independence", "cross-covariance", "--out", str(tmp_path / "sepclr")]
    assert cli.main(["fit", "--dataset", "shifted-rows", *FAST, *term]) == 0
    assert modules["term"].CALLS, "the registered term was never called"
    run = json.loads((tmp_path / "sepclr" / "run.json").read_text())
    assert run["params"]["independence"] == "cross-covariance"
    test = sepclr.datasets.load("shifted-rows", split="test")
    salient = sepclr.load(tmp_path / "sepclr").transform(test.target)[1]
    shifted = np.corrcoef(np.linalg.norm(salient, axis=1), test.factors["amount"])[0, 1]
    assert shifted > 0.5  # the salient code grows with the planted shift
