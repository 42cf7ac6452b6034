"""Multi-process training equals one process holding the whole batch (gloo on the CPU).

Every test spawns 2 processes that join a gloo group through a file in the test's temporary
directory (no network), runs a task and saves what it computed; the parent compares it with
the same computation in one process. Workers are killed after a deadline, so a collective
that waits forever fails the test instead of hanging the suite.
"""

import os
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from sepclr import SepCLR
from sepclr.engine.distributed import check_batch_size, rows_of_process
from sepclr.engine.shard import SINGLE_PROCESS, Shard
from sepclr.engine.training import TrainingData, TrainingPlan
from sepclr.errors import InvalidInputError
from sepclr.methods.sepclr_module import SepCLRModule
from sepclr.nets.encoder import EncodedBatch
from sepclr.objectives import (
    SepCLRObjectiveSettings,
    build_independence,
    kjem,
    kmi,
    mmd_independence,
    null_background_rows,
    salient_uniformity,
    sepclr_objective,
    uniformity,
)

WORLD = 2
PER_PROCESS = 12
DEADLINE_S = 180.0


def _worker(rank: int, store: str, out: str, task) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    try:
        torch.save(task(Shard.current()), f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _start(task, tmp_path: Path):
    """``task(shard)`` started in each of WORLD processes."""
    tmp_path.mkdir(exist_ok=True)
    return mp.start_processes(
        _worker,
        args=(str(tmp_path / "store"), str(tmp_path), task),
        nprocs=WORLD,
        join=False,
        start_method="spawn",
    )


def _results(context, tmp_path: Path) -> list:
    """Wait (up to the deadline) for the processes and return their results in rank order."""
    deadline = time.monotonic() + DEADLINE_S
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the {WORLD} processes did not finish within {DEADLINE_S} s")
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]


def _run(task, tmp_path: Path) -> list:
    """``task(shard)`` in each of WORLD processes; their results in rank order."""
    return _results(_start(task, tmp_path), tmp_path)


# --- the batch-level terms ---------------------------------------------------------------


def _embeddings() -> dict[str, torch.Tensor]:
    """Two views of a global batch of codes in float64, targets spread unevenly."""
    g = torch.Generator().manual_seed(0)
    n = WORLD * PER_PROCESS
    data = {name: torch.randn(n, 5, generator=g, dtype=torch.float64) for name in "ab"}
    data |= {name: torch.randn(n, 4, generator=g, dtype=torch.float64) for name in "cd"}
    data["is_target"] = torch.rand(n, generator=g) < torch.linspace(0.2, 0.8, n)
    return data


def _critic(shard: Shard):
    torch.manual_seed(3)
    critic = build_independence("vclub-sym", 5, 4).double()
    return lambda c, s, t: critic(F.normalize(c, dim=1), null_background_rows(s, t), shard=shard)


def _terms(shard: Shard) -> dict:
    """Each term as a function of (c, s, is_target) and of this shard."""
    bw = 0.5
    return {
        "uniformity": lambda c, s, t: uniformity(F.normalize(c, dim=1), bw, shard),
        "s'-uniformity": lambda c, s, t: salient_uniformity(s, t, bw, shard),
        "k-jem": lambda c, s, t: kjem(F.normalize(c, dim=1), null_background_rows(s, t), bw, shard),
        "k-mi": lambda c, s, t: kmi(F.normalize(c, dim=1), null_background_rows(s, t), bw, shard),
        "mmd": lambda c, s, t: mmd_independence(c, s, shard),
        "vclub-sym": _critic(shard),
    }


def _evaluate_terms(shard: Shard) -> dict:
    data = _embeddings()
    rows = slice(shard.offset(PER_PROCESS), shard.offset(PER_PROCESS) + PER_PROCESS)
    if not shard.distributed:
        rows = slice(None)
    results = {}
    for name, term in _terms(shard).items():
        c = data["a"][rows].clone().requires_grad_()
        s = data["c"][rows].clone().requires_grad_()
        torch.manual_seed(7)  # the MMD permutation
        value = term(c, s, data["is_target"][rows])
        grad_c, grad_s = torch.autograd.grad(value, [c, s], materialize_grads=True)
        results[name] = {"value": value.detach(), "grad_c": grad_c, "grad_s": grad_s}
    # the whole objective, on two views
    views = {k: data[k][rows].clone().requires_grad_() for k in "abcd"}
    total, _ = sepclr_objective(
        (views["a"], views["b"]),
        (views["c"], views["d"]),
        data["is_target"][rows],
        SepCLRObjectiveSettings(),
        "k-jem",
        shard,
    )
    grads = torch.autograd.grad(total, [views[k] for k in "abcd"])
    results["objective"] = {
        "value": total.detach(),
        **{f"grad_{k}": g for k, g in zip("abcd", grads, strict=True)},
    }
    return results


def test_each_batch_level_term_over_two_processes_equals_one_process(tmp_path):
    """2 processes x B rows give the value of each term on the 2B rows, and each process's
    gradient for its rows is world_size x the one-process gradient of those rows (the
    factor DistributedDataParallel's gradient average divides out, see sepclr.engine.shard)."""
    single = _evaluate_terms(SINGLE_PROCESS)
    per_rank = _run(_evaluate_terms, tmp_path)
    assert set(single) == {
        "uniformity",
        "s'-uniformity",
        "k-jem",
        "k-mi",
        "mmd",
        "vclub-sym",
        "objective",
    }
    for name, expected in single.items():
        for rank, results in enumerate(per_rank):
            got = results[name]
            rows = slice(rank * PER_PROCESS, (rank + 1) * PER_PROCESS)
            torch.testing.assert_close(got["value"], expected["value"], rtol=1e-5, atol=0, msg=name)
            for key in expected:
                if key.startswith("grad"):
                    torch.testing.assert_close(
                        got[key] / WORLD,
                        expected[key][rows],
                        rtol=1e-5,
                        atol=1e-12,
                        msg=f"{name} {key}",
                    )


# --- a training step end to end ----------------------------------------------------------


class _TanhEncoder(nn.Module):
    """A BatchNorm-free two-branch encoder: BatchNorm statistics are per process on CPUs
    (SyncBatchNorm is CUDA-only), so equality with one process needs a head without it."""

    def __init__(self) -> None:
        super().__init__()
        self.common = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 5))
        self.salient = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 4))

    decoder = None

    def forward(self, x: torch.Tensor, x_salient: torch.Tensor) -> EncodedBatch:
        c, s = self.common(x), self.salient(x_salient)
        return EncodedBatch(c, c, s, s)


def _train_steps(shard: Shard) -> dict:
    torch.manual_seed(0)
    encoder = _TanhEncoder().double()
    module = SepCLRModule(
        encoder, nn.Identity(), build_independence("k-jem", 5, 4), SepCLRObjectiveSettings()
    )
    return _sgd_steps(module, shard, lr=0.05)


def _sgd_steps(module, shard: Shard, lr: float) -> dict:
    """Two epochs of two global batches of SGD at ``lr`` on 6 float64 features; the
    network's weights and the loss history."""
    g = torch.Generator().manual_seed(1)
    inputs = torch.randn(4 * PER_PROCESS * WORLD, 6, generator=g, dtype=torch.float64)
    is_target = torch.arange(len(inputs)) % 3 == 0
    plan = TrainingPlan(
        epochs=2,
        batch_size=2 * PER_PROCESS * WORLD,
        lr=0.0,
        device=torch.device("cpu"),
        verbose=False,
        shard=shard,
        make_optimizer=partial(torch.optim.SGD, lr=lr),
    )
    data = TrainingData(inputs, is_target, lambda x: x)
    history = plan.run(module, data, torch.Generator().manual_seed(2)).history
    return {
        "state": module.network.state_dict(),
        "history": torch.tensor([[v for k, v in h.items() if k != "seconds"] for h in history]),
    }


def test_training_steps_over_two_processes_update_the_weights_like_one_process(tmp_path):
    """Four SGD steps (2 epochs x 2 global batches, float64, views off, BatchNorm-free
    encoder) on 2 processes leave the same weights and loss history as in one process."""
    single = _train_steps(SINGLE_PROCESS)
    per_rank = _run(_train_steps, tmp_path)
    torch.manual_seed(0)
    start = _TanhEncoder().double()
    for results in per_rank:
        torch.testing.assert_close(results["history"], single["history"], rtol=1e-9, atol=1e-12)
        for key, value in single["state"].items():
            torch.testing.assert_close(results["state"][key], value, rtol=1e-9, atol=1e-12)
    moved = max((single["state"][k] - v).abs().max() for k, v in start.state_dict().items())
    assert moved > 1e-3  # the weights did change


# --- the VAE baselines on several processes ------------------------------------------------


def _without_batchnorm(module: nn.Module) -> nn.Module:
    """``module`` with every BatchNorm1d replaced by the identity (per-process statistics on
    the CPU would differ from one process's)."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm1d):
            setattr(module, name, nn.Identity())
        else:
            _without_batchnorm(child)
    return module


def _vae_steps(shard: Shard) -> dict:
    from sepclr.nets import vae as vae_nets

    sampling = vae_nets.reparameterise
    vae_nets.reparameterise = lambda mu, logvar: mu + 0.0 * logvar  # noise-free codes
    try:
        return _vae_plan(shard)
    finally:
        vae_nets.reparameterise = sampling


def _vae_plan(shard: Shard) -> dict:
    from sepclr.methods.vae_module import ContrastiveVAEModule, VAEWeights
    from sepclr.nets import vae as vae_nets

    torch.manual_seed(0)
    net = _without_batchnorm(vae_nets.ContrastiveVAENet("mlp", (6,), 3, 2, width=4, hidden=8))
    weights = VAEWeights(
        0.5, 0.4, background_salient_precision=10.0, common_mmd=10.0, salient_mmd=10.0
    )
    return _sgd_steps(ContrastiveVAEModule(net.double(), weights, lr=1e-3), shard, lr=1e-3)


def test_vae_steps_over_two_processes_update_the_weights_like_one_process(tmp_path):
    """Four SGD steps of a VAE with the KL, SepVAE prior and MM-cVAE terms on 2 processes
    (noise-free codes, float64, no BatchNorm) leave the weights and the loss history of one
    process: every summed term is the global batch's."""
    single = _vae_steps(SINGLE_PROCESS)
    for results in _run(_vae_steps, tmp_path):
        torch.testing.assert_close(results["history"], single["history"], rtol=1e-9, atol=1e-9)
        for key, value in single["state"].items():
            torch.testing.assert_close(results["state"][key], value, rtol=1e-9, atol=1e-12)


def _fit_convae(shard: Shard) -> dict:
    from sepclr import ConVAE

    g = torch.Generator().manual_seed(0)
    background, target = torch.randn(60, 8, generator=g), torch.randn(60, 8, generator=g) + 1
    model = ConVAE(4, 4, epochs=2, batch_size=24, hidden=16, verbose=False, device="cpu")
    model.fit(background, target)
    return {"state": model.net_.state_dict(), "loss": torch.tensor(model.history_[-1]["tc"])}


def test_convae_with_its_discriminator_keeps_the_processes_identical(tmp_path):
    first, second = _run(_fit_convae, tmp_path)
    for key, value in first["state"].items():
        torch.testing.assert_close(second["state"][key], value, rtol=0, atol=0)
    assert torch.isfinite(first["loss"])


# --- SepCLR.fit under a process group ----------------------------------------------------


def _fit(out: str, shard: Shard) -> dict:
    g = torch.Generator().manual_seed(0)
    background, target = torch.randn(60, 8, generator=g), torch.randn(60, 8, generator=g) + 1
    model = SepCLR(4, 4, backbone="mlp", width=4, epochs=3, batch_size=24, verbose=False)
    model.fit(background, target, checkpoint_dir=f"{out}/checkpoint")
    return {
        "state": model.encoder_.state_dict(),
        "loss": torch.tensor([h["loss"] for h in model.history_]),
    }


def test_sepclr_fit_under_a_process_group_keeps_the_processes_identical(tmp_path):
    """The model of every process is the same after fit (gradients averaged, BatchNorm
    buffers broadcast from the first process), the loss history too, and the first process
    wrote the checkpoint."""
    per_rank = _run(partial(_fit, str(tmp_path)), tmp_path)
    first, second = per_rank
    for key, value in first["state"].items():
        torch.testing.assert_close(second["state"][key], value, rtol=0, atol=0)
    torch.testing.assert_close(first["loss"], second["loss"], rtol=0, atol=0)
    assert (tmp_path / "checkpoint" / "checkpoint.safetensors").is_file()
    assert torch.isfinite(first["loss"]).all()


# --- the rows each process takes ---------------------------------------------------------


@pytest.mark.parametrize("world", [2, 3, 4])
def test_each_process_takes_an_equal_share_with_the_target_ratio(world):
    g = torch.Generator().manual_seed(world)
    is_target = torch.rand(200, generator=g) < 0.3
    batch = torch.randperm(200, generator=g)[:64]
    shares = [rows_of_process(batch, is_target, Shard(rank, world)) for rank in range(world)]
    assert len({len(share) for share in shares}) == 1
    assert len(shares[0]) == 64 // world
    joined = torch.cat(shares)
    assert len(set(joined.tolist())) == len(joined)  # no row twice
    assert set(joined.tolist()) <= set(batch.tolist())
    targets = [int(is_target[share].sum()) for share in shares]
    assert max(targets) - min(targets) <= 1
    assert sum(targets) == int(is_target[batch].sum())  # only backgrounds are trimmed


def test_a_global_batch_that_does_not_split_is_refused():
    with pytest.raises(InvalidInputError, match="multiple of 3"):
        check_batch_size(256, Shard(0, 3))
    check_batch_size(255, Shard(0, 3))
    check_batch_size(7, SINGLE_PROCESS)


# --- a multi-process run stopped by a signal and resumed ----------------------------------


def _fit_until_stopped(out: str, resume: bool, shard: Shard) -> dict:
    from sepclr.errors import TrainingInterruptedError

    g = torch.Generator().manual_seed(0)
    background, target = torch.randn(60, 8, generator=g), torch.randn(60, 8, generator=g) + 1
    model = SepCLR(4, 4, backbone="mlp", width=4, epochs=40, batch_size=24, verbose=False)
    try:
        model.fit(background, target, checkpoint_dir=f"{out}/checkpoint", resume=resume)
    except TrainingInterruptedError:
        return {"stopped": torch.tensor(1)}
    return {"stopped": torch.tensor(0), "state": model.encoder_.state_dict()}


def test_a_multi_process_run_stopped_by_sigterm_resumes_to_the_same_weights(tmp_path):
    """SIGTERM to one of 2 processes after the first checkpoint stops both at the same step
    with a checkpoint; resuming on 2 processes ends with the weights of an uninterrupted
    2-process run (views are seeded per step and rank, so nothing random is lost)."""
    import signal

    whole = _run(partial(_fit_until_stopped, str(tmp_path / "whole"), False), tmp_path / "a")
    context = _start(partial(_fit_until_stopped, str(tmp_path / "cut"), False), tmp_path / "b")
    checkpoint = tmp_path / "cut" / "checkpoint" / "checkpoint.safetensors"
    deadline = time.monotonic() + DEADLINE_S
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(context.processes[1].pid, signal.SIGTERM)
    stopped = _results(context, tmp_path / "b")
    assert [int(s["stopped"]) for s in stopped] == [1, 1]  # both stopped, not just the one
    resumed = _run(partial(_fit_until_stopped, str(tmp_path / "cut"), True), tmp_path / "c")
    for rank in range(WORLD):
        for key, value in whole[rank]["state"].items():
            torch.testing.assert_close(resumed[rank]["state"][key], value, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("params", "refused"),
    [
        ({"salient_attributes": {"a": "continuous"}, "salient_dim": 1}, "supervised SepCLR"),
        ({"decoder_weight": 1.0, "objective": "extended"}, "a decoder"),
    ],
)
def test_sepclr_settings_that_train_in_one_process_are_refused_on_several(
    monkeypatch, params, refused
):
    """Supervised SepCLR and the decoder have no multi-process loss: a fit in a process of
    a group of two stops before training, saying so."""
    monkeypatch.setattr(Shard, "current", classmethod(lambda cls, group=None: Shard(0, 2)))
    rng = np.random.default_rng(0)
    background, target = rng.normal(size=(2, 16, 4)).astype(np.float32)
    model = SepCLR(epochs=1, device="cpu", verbose=False, **params)
    side = {"attributes": {"a": rng.normal(size=16)}} if "salient_attributes" in params else {}
    with pytest.raises(InvalidInputError, match=f"{refused}.*trains in one process"):
        model.fit(background, target, **side)
