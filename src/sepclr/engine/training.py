"""The training step of the contrastive methods: two random views of a mixed batch of
background and target rows in one forward pass, Adam; the epochs around it are
:func:`sepclr.engine.loop.run_epochs`."""

from collections.abc import Callable

import torch
from torch import nn

from sepclr.engine.checkpoint import Checkpointer
from sepclr.engine.loop import StopRequest, TrainingParts, run_epochs
from sepclr.errors import TrainingDivergedError
from sepclr.nets.encoder import EncodedBatch
from sepclr.objectives.critics import Critic

TwoViewLoss = Callable[
    [EncodedBatch, EncodedBatch, torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]
]


def mix_in_background(x: torch.Tensor, is_target: torch.Tensor, max_weight: float) -> torch.Tensor:
    """``(1 - w) x_i + w b_i`` with ``b_i`` a random background row of the batch and
    ``w ~ U(0, max_weight)`` per row: a view that changes the background content of a sample
    while keeping what is specific to the target. Returns ``x`` when the batch has no
    background row."""
    pool = x[~is_target]
    if max_weight <= 0 or len(pool) == 0:
        return x
    partner = pool[torch.randint(len(pool), (len(x),), device=x.device)]
    weight = max_weight * torch.rand((len(x),) + (1,) * (x.ndim - 1), device=x.device)
    return (1 - weight) * x + weight * partner


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
    optimizer: torch.optim.Optimizer, loss: torch.Tensor, max_grad_norm: float | None
) -> None:
    """Backward pass, optional clipping of the global gradient norm, and one step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if max_grad_norm is not None:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
    optimizer.step()


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
    salient_background_mix: float = 0.0,
    critic: Critic | None = None,
    max_grad_norm: float | None = None,
    checkpointer: Checkpointer | None = None,
    resume: bool = False,
    stop: StopRequest | None = None,
) -> list[dict[str, float]]:
    """Train ``encoder`` in place and return one dict of mean loss terms per epoch.

    Each step draws two views of the batch, encodes both in one forward pass (so BatchNorm
    sees both views) and minimises ``loss_fn(first_view, second_view, is_target)`` with
    Adam. With ``salient_background_mix > 0`` the salient branch sees its views mixed with
    background rows (:func:`mix_in_background`). A ``critic`` (the trained critic of an
    independence term, already on ``device``) takes its queued steps before each encoder
    step. A non-finite loss stops training with :class:`TrainingDivergedError`;
    ``max_grad_norm`` clips the gradient norm. Checkpoints, ``resume`` and ``stop``: see
    :func:`sepclr.engine.loop.run_epochs`.
    """
    encoder.to(device)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=lr)
    parts = TrainingParts({"encoder": encoder}, {"encoder": optimizer})
    if critic is not None:
        parts.modules["critic"] = critic
        parts.optimizers |= critic.optimizers()
        parts.settle = critic.train_pending

    def step(idx: torch.Tensor, epoch: int, index: int) -> dict[str, torch.Tensor]:
        encoder.train()
        if critic is not None:
            critic.train_pending()
        x = inputs[idx].to(device, non_blocking=True)
        targets = is_target[idx].to(device)
        with torch.no_grad():
            both = torch.cat([views(x), views(x)])
            both_targets = torch.cat([targets, targets])
            salient_input = mix_in_background(both, both_targets, salient_background_mix)
        encoded = encoder(both, salient_input)
        first = EncodedBatch(*(t[: len(x)] for t in encoded))
        second = EncodedBatch(*(t[len(x) :] for t in encoded))
        loss, terms = loss_fn(first, second, targets)
        ensure_finite(loss, terms, epoch, index)
        optimiser_step(optimizer, loss, max_grad_norm)
        return {"loss": loss, **terms}

    return run_epochs(
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
    )


@torch.no_grad()
def encode(
    encoder: nn.Module, inputs: torch.Tensor, device: torch.device, batch_size: int = 1024
) -> EncodedBatch:
    """Encoder outputs for ``inputs`` in evaluation mode, on the CPU."""
    encoder.eval()
    parts = [
        EncodedBatch(*(t.float().cpu() for t in encoder(chunk.to(device))))
        for chunk in inputs.split(batch_size)
    ]
    return EncodedBatch(*(torch.cat(ts) for ts in zip(*parts, strict=True)))
