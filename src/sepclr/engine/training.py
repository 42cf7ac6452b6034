"""The training step of the contrastive methods: two random views of a mixed batch of
background and target rows in one forward pass, Adam; the epochs around it are
:func:`sepclr.engine.loop.run_epochs`."""

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from sepclr.engine.checkpoint import Checkpointer
from sepclr.engine.distributed import (
    average_buffers,
    check_batch_size,
    for_processes,
    rows_of_process,
    seed_views,
)
from sepclr.engine.loop import StopRequest, TrainingParts, run_epochs, split_batches
from sepclr.engine.performance import (
    DEFAULT_SPEED,
    StepSpeed,
    backend_settings,
    set_memory_format,
)
from sepclr.errors import TrainingDivergedError
from sepclr.nets.encoder import EncodedBatch
from sepclr.objectives.critics import Critic
from sepclr.objectives.shard import SINGLE_PROCESS, Shard

# (first view, second view, is_target, shard, views=(the two common-branch inputs)[, rows=the
# batch's row_data]) -> (loss, {term: value})
TwoViewLoss = Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]
OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]


def mix_in_background(
    x: torch.Tensor, is_target: torch.Tensor, weights: tuple[float, float]
) -> torch.Tensor:
    """``(1 - w) x_i + w b_i`` with ``b_i`` a random background row of the batch and
    ``w ~ U(low, high)`` per row (``weights = (low, high)``): a view that changes the
    background content of a sample while keeping what is specific to the target. Returns
    ``x`` when the batch has no background row or ``high`` is 0."""
    low, high = weights
    pool = x[~is_target]
    if high <= 0 or len(pool) == 0:
        return x
    partner = pool[torch.randint(len(pool), (len(x),), device=x.device)]
    weight = low + (high - low) * torch.rand((len(x),) + (1,) * (x.ndim - 1), device=x.device)
    return (1 - weight) * x + weight * partner


def learning_rate_factor(progress: float, schedule: str, warmup: float) -> float:
    """The multiplier of the base learning rate at ``progress`` (the fraction of training
    done, in [0, 1)): a linear warm-up over the first ``warmup`` fraction, then constant
    (``schedule="constant"``) or a cosine decay to 0 at the end (``"cosine"``)."""
    if progress < warmup:
        return (progress + 1e-12) / warmup
    if schedule == "cosine":
        rest = (progress - warmup) / max(1.0 - warmup, 1e-12)
        return 0.5 * (1.0 + math.cos(math.pi * rest))
    return 1.0


def ensure_finite(
    loss: torch.Tensor, terms: dict[str, torch.Tensor], epoch: int, step: int
) -> None:
    """Raise :class:`TrainingDivergedError` naming the first non-finite term of ``terms`` if
    ``loss`` is NaN or infinite (before the optimiser step, so the weights stay finite)."""
    if bool(torch.isfinite(loss)):
        return
    bad = [name for name, value in terms.items() if not bool(torch.isfinite(value))]
    culprit = (
        f"term {bad[0]!r} is {float(terms[bad[0]].detach())}" if bad else "the total is not finite"
    )
    raise TrainingDivergedError(
        f"the training loss became {float(loss.detach())} at epoch {epoch + 1}, step {step + 1}: "
        f"{culprit}. Lower lr or that term's weight, or set max_grad_norm to clip gradients."
    )


def optimiser_step(
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    max_grad_norm: float | None,
    scaler: torch.amp.GradScaler | None = None,
) -> None:
    """Backward pass, optional clipping of the global gradient norm, and one step (through
    the float16 gradient ``scaler`` when there is one)."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
    else:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    if max_grad_norm is not None:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)
        scaler.update()


def train_two_view(
    encoder: nn.Module,
    views: nn.Module,
    inputs: torch.Tensor,
    is_target: torch.Tensor,
    loss_fn: TwoViewLoss,
    epochs: int,
    batch_size: int,
    lr: float,
    device: torch.device,
    generator: torch.Generator,
    verbose: bool = True,
    description: str = "training",
    salient_background_mix: tuple[float, float] = (0.0, 0.0),
    critic: Critic | None = None,
    max_grad_norm: float | None = None,
    checkpointer: Checkpointer | None = None,
    resume: bool = False,
    stop: StopRequest | None = None,
    prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
    speed: StepSpeed = DEFAULT_SPEED,
    shard: Shard = SINGLE_PROCESS,
    seed: int = 0,
    make_optimizer: OptimizerFactory | None = None,
    lr_schedule: str = "constant",
    warmup: float = 0.0,
    original_first: bool = False,
    row_data: torch.Tensor | None = None,
) -> list[dict[str, float]]:
    """Train ``encoder`` in place and return one dict of mean loss terms per epoch.

    Each step takes a batch of stored rows (``prepare``, run on ``device``, turns them into
    the model's float input: uint8 images stay uint8 until then), draws two views of it
    without gradient, encodes both in one forward pass (so BatchNorm sees both views) and
    minimises ``loss_fn(first_view, second_view, is_target, shard, views=(x1, x2))`` (the
    encoded views, and the inputs ``x1``, ``x2`` of the common branch) with Adam (or
    ``make_optimizer(parameters)``) at a learning rate scaled each step by
    :func:`learning_rate_factor` (``lr_schedule``, ``warmup``). With a
    ``salient_background_mix`` range above 0, the salient branch sees its views mixed with
    background rows (:func:`mix_in_background`). A ``critic`` (the
    trained critic of an independence term, already on ``device``) takes its queued steps
    before each encoder step. A non-finite loss stops training with
    :class:`TrainingDivergedError`; ``max_grad_norm`` clips the gradient norm. ``speed``:
    precision, channels-last and compilation (:class:`StepSpeed`). Checkpoints, ``resume``
    and ``stop``: see :func:`sepclr.engine.loop.run_epochs`.

    ``original_first=True`` makes the first view the batch itself (no augmentation), as the
    supervised SepCLR of the paper does; ``row_data`` (n, ...) gives the loss its rows for
    the batch as ``rows=`` (known attributes).

    Multi-process (``shard``, see :mod:`sepclr.engine.distributed`): ``batch_size`` is the
    global batch, every process takes its share of each batch (:func:`rows_of_process`),
    the encoder is wrapped in DistributedDataParallel, and each process's views are seeded
    from (``seed``, rank, epoch, step).
    """
    check_batch_size(batch_size, shard)
    encoder.to(device)
    if speed.channels_last:
        set_memory_format(encoder, channels_last=True)
    optimizer = (make_optimizer or (lambda p: torch.optim.Adam(p, lr=lr)))(encoder.parameters())
    parts = TrainingParts({"encoder": encoder}, {"encoder": optimizer})
    if critic is not None:
        parts.modules["critic"] = critic
        parts.optimizers |= critic.optimizers()
        parts.settle = critic.train_pending
    model = for_processes(encoder, device, shard)
    forward = torch.compile(model) if speed.compile else model
    scaler = speed.scaler(device)
    prepare = prepare or (lambda x: x.float())
    steps_per_epoch = len(split_batches(torch.arange(len(inputs)), batch_size))
    base_lrs = [group["lr"] for group in optimizer.param_groups]

    def step(idx: torch.Tensor, epoch: int, index: int) -> dict[str, torch.Tensor]:
        model.train()
        progress = (epoch * steps_per_epoch + index) / (epochs * steps_per_epoch)
        factor = learning_rate_factor(progress, lr_schedule, warmup)
        for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
            group["lr"] = base * factor
        if critic is not None:
            critic.train_pending()
        if shard.distributed:
            seed_views(seed, shard, epoch, index)
        idx = rows_of_process(idx, is_target, shard)
        targets = is_target[idx].to(device)
        with torch.no_grad():
            x = prepare(inputs[idx].to(device, non_blocking=True))
            both = torch.cat([x if original_first else views(x), views(x)])
            both_targets = torch.cat([targets, targets])
            salient_input = mix_in_background(both, both_targets, salient_background_mix)
            if speed.channels_last:
                both = both.contiguous(memory_format=torch.channels_last)
                salient_input = salient_input.contiguous(memory_format=torch.channels_last)
        with speed.autocast(device):
            encoded = forward(both, salient_input)
        encoded = [t.float() if t.dtype in (torch.float16, torch.bfloat16) else t for t in encoded]
        first = EncodedBatch(*(t[: len(x)] for t in encoded))
        second = EncodedBatch(*(t[len(x) :] for t in encoded))
        batch: dict[str, Any] = {"views": (both[: len(x)], both[len(x) :])}
        if row_data is not None:
            batch["rows"] = row_data[idx].to(device)
        loss, terms = loss_fn(first, second, targets, shard, **batch)
        ensure_finite(loss, terms, epoch, index)
        optimiser_step(optimizer, loss, max_grad_norm, scaler)
        return {"loss": loss, **terms}

    with backend_settings(device):
        history = run_epochs(
            len(inputs),
            batch_size,
            epochs,
            generator,
            step,
            parts,
            checkpointer=checkpointer,
            resume=resume,
            stop=stop,
            verbose=verbose,
            description=description,
            shard=shard,
        )
    average_buffers(encoder, shard)
    return history


@torch.no_grad()
def encode(
    encoder: nn.Module,
    inputs: torch.Tensor,
    device: torch.device,
    batch_size: int = 1024,
    prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> EncodedBatch:
    """Encoder outputs for ``inputs`` (stored rows, turned into model input by ``prepare``
    one chunk at a time) in evaluation mode, on the CPU."""
    encoder.eval()
    prepare = prepare or (lambda x: x.float())
    parts = [
        EncodedBatch(*(t.float().cpu() for t in encoder(prepare(chunk.to(device)))))
        for chunk in inputs.split(batch_size)
    ]
    return EncodedBatch(*(torch.cat(ts) for ts in zip(*parts, strict=True)))
