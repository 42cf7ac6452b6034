import pytest
import torch

import sepclr
from sepclr.engine.loop import split_batches
from sepclr.engine.training import (
    TrainingData,
    TrainingModule,
    TrainingPlan,
    learning_rate_factor,
    optimiser_step,
)
from sepclr.errors import TrainingDivergedError
from sepclr.methods.sepclr_module import mix_in_background
from sepclr.nets import TwoBranchEncoder


class _Objective(TrainingModule):
    """A network trained on ``objective(out, out, is_target, shard)`` of its output."""

    def __init__(self, network, objective):
        super().__init__()
        self.network, self.objective = network, objective

    def loss(self, batch, forward):
        out = forward(batch.x)
        return self.objective(out, out, batch.is_target, batch.shard)


def test_batches_cover_rows_once_and_drop_the_incomplete_one():
    order = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    parts = split_batches(order, 4)
    assert [len(p) for p in parts] == [4, 4]
    assert len(set(torch.cat(parts).tolist())) == 8
    assert [len(p) for p in split_batches(order[:3], 4)] == [3]


def test_mix_in_background_is_a_convex_mix_with_background_rows():
    torch.manual_seed(0)
    x = torch.cat([torch.ones(50, 3), torch.zeros(50, 3)])
    is_target = torch.arange(100) >= 50
    mixed = mix_in_background(x, is_target, (0.0, 0.4))
    torch.testing.assert_close(mixed[:50], x[:50])  # background mixed with background
    assert mixed[50:].min() >= 0.0 and mixed[50:].max() <= 0.4
    assert mixed[50:].std() > 0.05  # per-row weights
    narrow = mix_in_background(x, is_target, (0.3, 0.5))
    assert narrow[50:].min() >= 0.3 and narrow[50:].max() <= 0.5
    torch.testing.assert_close(mix_in_background(x, is_target, (0.0, 0.0)), x)
    torch.testing.assert_close(mix_in_background(x[50:], is_target[50:], (0.0, 0.4)), x[50:])


def test_learning_rate_factor_warms_up_then_decays_along_a_cosine():
    assert learning_rate_factor(0.05, "cosine", 0.1) == pytest.approx(0.5)
    assert learning_rate_factor(0.1, "cosine", 0.1) == pytest.approx(1.0)
    assert learning_rate_factor(0.55, "cosine", 0.1) == pytest.approx(0.5)
    assert learning_rate_factor(0.999, "cosine", 0.0) < 1e-4
    assert learning_rate_factor(0.7, "constant", 0.0) == 1.0


def _nan_after(steps: int):
    calls = {"n": 0}

    def objective(first, second, targets, shard, **batch):
        calls["n"] += 1
        value = first.common_head.pow(2).mean()
        bad = torch.tensor(float("nan")) if calls["n"] > steps else torch.zeros(())
        return value + bad, {"alignment": value, "independence": bad}

    return objective


def test_non_finite_loss_stops_training_naming_the_term():
    torch.manual_seed(0)
    encoder = TwoBranchEncoder("mlp", (6,), 3, 3, width=2)
    before = {k: v.detach().clone() for k, v in encoder.named_parameters()}
    inputs, is_target = torch.randn(40, 6), torch.arange(40) >= 20
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, step 1: term 'independence'"):
        plan = TrainingPlan(1, 10, 0.1, torch.device("cpu"), verbose=False)
        data = TrainingData(inputs, is_target, lambda x: x)
        plan.run(_Objective(encoder, _nan_after(0)), data, torch.Generator().manual_seed(0))
    for name, value in encoder.named_parameters():  # no step was taken with the bad loss
        torch.testing.assert_close(value.detach(), before[name])


def test_estimator_reports_the_diverging_term(monkeypatch):
    from sepclr.methods import sepclr_module

    original = sepclr_module.sepclr_objective

    def broken(*args, **kwargs):
        loss, terms = original(*args, **kwargs)
        terms = {**terms, "infoless": terms["infoless"] * float("inf")}
        return loss + terms["infoless"], terms

    monkeypatch.setattr(sepclr_module, "sepclr_objective", broken)
    data = sepclr.datasets.load("synthetic-tabular", n=64)
    model = sepclr.SepCLR(epochs=1, batch_size=32, verbose=False, device="cpu")
    with pytest.raises(TrainingDivergedError, match="'infoless'"):
        model.fit(data.background, data.target)
    assert not hasattr(model, "encoder_")


def test_gradient_clipping_bounds_the_update():
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(layer.parameters(), lr=1.0)
    before = torch.cat([p.detach().flatten().clone() for p in layer.parameters()])
    loss = 1e6 * layer(torch.ones(1, 4)).sum()
    optimiser_step(optimizer, loss, max_grad_norm=0.5)
    after = torch.cat([p.detach().flatten() for p in layer.parameters()])
    assert float((after - before).norm()) == pytest.approx(0.5, rel=1e-4)
