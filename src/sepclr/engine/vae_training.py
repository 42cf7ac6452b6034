"""The training loop of the contrastive VAE baselines, with the optional total-correlation
discriminator trained beside the VAE."""

from collections.abc import Callable

import torch
from torch import nn
from tqdm.auto import tqdm

from sepclr.engine.training import batches, ensure_finite, optimiser_step
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
) -> list[dict[str, float]]:
    """Train ``net`` (and ``discriminator``) in place; returns the mean terms per epoch.

    Each step minimises ``loss_fn`` on a shuffled batch of mixed background and target rows
    with Adam; then, if there is a discriminator, it takes one Adam step on the same batch's
    codes (detached): joint ``[z_c, z_s]`` against :func:`shuffled_marginals`. As in the
    SepVAE authors' code, both optimisers (lr ``lr``) are created anew at every epoch. A
    non-finite loss stops training with :class:`sepclr.errors.TrainingDivergedError`;
    ``max_grad_norm`` clips the VAE's gradient norm.
    """
    net.to(device)
    if discriminator is not None:
        discriminator.to(device)
    history: list[dict[str, float]] = []
    progress = tqdm(range(epochs), desc=description, unit="epoch", disable=not verbose, leave=True)
    for epoch in progress:
        optimizer = torch.optim.Adam(net.parameters(), lr=lr)
        critic_optimizer = (
            torch.optim.Adam(discriminator.parameters(), lr=lr) if discriminator else None
        )
        net.train()
        sums: dict[str, float] = {}
        steps = 0
        for idx in batches(len(inputs), batch_size, generator):
            x = inputs[idx].to(device, non_blocking=True)
            loss, terms, (common, salient) = loss_fn(x, is_target[idx].to(device))
            ensure_finite(loss, terms, epoch, steps)
            optimiser_step(optimizer, loss, max_grad_norm)
            if discriminator is not None and critic_optimizer is not None and len(common) > 1:
                common, salient = common.detach(), salient.detach()
                critic = discriminator_loss(
                    discriminator(torch.cat([common, salient], dim=1)),
                    discriminator(shuffled_marginals(common, salient)),
                )
                critic_optimizer.zero_grad(set_to_none=True)
                critic.backward()
                critic_optimizer.step()
                terms = {**terms, "discriminator": critic}
            steps += 1
            for key, value in {"loss": loss, **terms}.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
        epoch_terms = {k: v / max(steps, 1) for k, v in sums.items()}
        history.append(epoch_terms)
        progress.set_postfix({k: f"{v:.3g}" for k, v in epoch_terms.items()})
    return history
