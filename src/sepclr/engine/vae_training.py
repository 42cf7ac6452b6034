"""The training loop of the contrastive VAE baselines, with the optional total-correlation
discriminator trained beside the VAE."""

from collections.abc import Callable

import torch
from torch import nn

from sepclr.engine.checkpoint import Checkpointer
from sepclr.engine.loop import StopRequest, TrainingParts, run_epochs
from sepclr.engine.training import ensure_finite, optimiser_step
from sepclr.objectives.vae import discriminator_loss, shuffled_marginals

# (x, is_target) -> (loss, {term: value}, (z_c, z_s) of the rows the discriminator sees)
VAELoss = Callable[
    [torch.Tensor, torch.Tensor],
    tuple[torch.Tensor, dict[str, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
]


def train_vae(
    net: nn.Module,
    inputs: torch.Tensor,
    is_target: torch.Tensor,
    loss_fn: VAELoss,
    epochs: int,
    batch_size: int,
    lr: float,
    device: torch.device,
    generator: torch.Generator,
    discriminator: nn.Module | None = None,
    verbose: bool = True,
    description: str = "VAE",
    max_grad_norm: float | None = None,
    checkpointer: Checkpointer | None = None,
    resume: bool = False,
    stop: StopRequest | None = None,
) -> list[dict[str, float]]:
    """Train ``net`` (and ``discriminator``) in place; returns the mean terms per epoch.

    Each step minimises ``loss_fn`` on a shuffled batch of mixed background and target rows
    with Adam; then, if there is a discriminator, it takes one Adam step on the same batch's
    codes (detached): joint ``[z_c, z_s]`` against :func:`shuffled_marginals`. As in the
    SepVAE authors' code, both optimisers (lr ``lr``) are created anew at every epoch. A
    non-finite loss stops training with :class:`sepclr.errors.TrainingDivergedError`;
    ``max_grad_norm`` clips the VAE's gradient norm. Checkpoints, ``resume`` and ``stop``:
    see :func:`sepclr.engine.loop.run_epochs`.
    """
    net.to(device)
    parts = TrainingParts({"net": net})
    if discriminator is not None:
        parts.modules["discriminator"] = discriminator.to(device)

    def new_optimisers(epoch: int) -> None:
        del epoch
        for name, module in parts.modules.items():
            parts.optimizers[name] = torch.optim.Adam(module.parameters(), lr=lr)

    def step(idx: torch.Tensor, epoch: int, index: int) -> dict[str, torch.Tensor]:
        net.train()
        x = inputs[idx].to(device, non_blocking=True)
        loss, terms, (common, salient) = loss_fn(x, is_target[idx].to(device))
        ensure_finite(loss, terms, epoch, index)
        optimiser_step(parts.optimizers["net"], loss, max_grad_norm)
        if discriminator is not None and len(common) > 1:
            common, salient = common.detach(), salient.detach()
            critic = discriminator_loss(
                discriminator(torch.cat([common, salient], dim=1)),
                discriminator(shuffled_marginals(common, salient)),
            )
            optimiser_step(parts.optimizers["discriminator"], critic, None)
            terms = {**terms, "discriminator": critic}
        return {"loss": loss, **terms}

    return run_epochs(
        len(inputs),
        batch_size,
        epochs,
        generator,
        step,
        parts,
        on_epoch_start=new_optimisers,
        checkpointer=checkpointer,
        resume=resume,
        stop=stop,
        verbose=verbose,
        description=description,
    )
