"""The torch side of SepCLR: two views of a mixed batch through the two-branch encoder,
and the paper's loss on them (Louiset et al., ICLR 2024, Eq. 10; official code
``cifar_mnist/sep_clr_k-jem.py``), with this project's optional extensions."""

from collections.abc import Callable

import torch
from torch import nn

from sepclr.engine.training import Batch, Forward, Terms, TrainingModule
from sepclr.nets.encoder import EncodedBatch, TwoBranchEncoder
from sepclr.objectives import SepCLRObjectiveSettings, sepclr_objective
from sepclr.objectives.critics import Critic
from sepclr.objectives.reconstruction import explaining_away_reconstruction
from sepclr.objectives.registry import IndependencePenalty


def mix_in_background(
    x: torch.Tensor, is_target: torch.Tensor, weights: tuple[float, float]
) -> torch.Tensor:
    """``(1 - w) x_i + w b_i`` with ``b_i`` a random background row of the batch and
    ``w ~ U(low, high)`` per row (``weights = (low, high)``): a view that changes the
    background content of a sample while keeping what is specific to the target. Returns
    ``x`` when the batch has no background row or ``high`` is 0.
    """
    low, high = weights
    pool = x[~is_target]
    if high <= 0 or len(pool) == 0:
        return x
    partner = pool[torch.randint(len(pool), (len(x),), device=x.device)]
    weight = low + (high - low) * torch.rand((len(x),) + (1,) * (x.ndim - 1), device=x.device)
    return (1 - weight) * x + weight * partner


class SepCLRModule(TrainingModule):
    """SepCLR's encoder (``network``), its views, its independence term and its loss.

    Each step draws two views of the batch without gradient, encodes them in one forward
    pass (``view_passes="fused"``, BatchNorm sees both) or in one pass each
    (``"separate"``, as the official code does), and minimises
    :func:`sepclr.objectives.sepclr_objective` on them. With a ``salient_mix`` range above
    0 the salient branch sees its views mixed with background rows
    (:func:`mix_in_background`); with a decoder on the encoder, the explaining-away
    reconstruction of both views is added with weight ``decoder_weight``.

    Parameters
    ----------
    encoder : TwoBranchEncoder
        The network.
    views : nn.Module
        The views.
    independence : IndependencePenalty
        The independence term.
    settings : SepCLRObjectiveSettings
        The objective's weights and extensions.
    salient_mix : tuple of 2 float
        The range of the background mixing weight.
    decoder_weight : float
        The explaining-away reconstruction's weight.
    decoder_noise : float
        Its noise on the target salient codes.
    view_passes : {"fused", "separate"}
        One forward pass for both views, or one each.
    """

    def __init__(
        self,
        encoder: TwoBranchEncoder,
        views: nn.Module,
        independence: IndependencePenalty,
        settings: SepCLRObjectiveSettings,
        salient_mix: tuple[float, float] = (0.0, 0.0),
        decoder_weight: float = 0.0,
        decoder_noise: float = 0.0,
        view_passes: str = "fused",
    ) -> None:
        super().__init__()
        self.network: TwoBranchEncoder = encoder
        self.views = views
        self.independence = independence
        self.settings = settings
        self.salient_mix = salient_mix
        self.decoder_weight = decoder_weight
        self.decoder_noise = decoder_noise
        self.view_passes = view_passes

    def adversaries(self) -> dict[str, Critic]:
        return {"critic": self.independence} if isinstance(self.independence, Critic) else {}

    def view_pair(self, x: torch.Tensor) -> torch.Tensor:
        """The batch's two views, stacked."""
        return torch.cat([self.views(x), self.views(x)])

    def encode_pair(
        self, batch: Batch, forward: Forward
    ) -> tuple[EncodedBatch, EncodedBatch, torch.Tensor, torch.Tensor]:
        """Both views through the encoder."""
        n = len(batch.x)
        with torch.no_grad():
            both = self.view_pair(batch.x)
            targets = torch.cat([batch.is_target, batch.is_target])
            salient_input = mix_in_background(both, targets, self.salient_mix)
        if self.view_passes == "fused":
            encoded = forward(both, salient_input)
        else:
            encoded = forward(both, salient_input, passes=2)
        first = EncodedBatch(*(t[:n] for t in encoded))
        second = EncodedBatch(*(t[n:] for t in encoded))
        return first, second, both[:n], both[n:]

    def loss(self, batch: Batch, forward: Forward) -> tuple[torch.Tensor, Terms]:
        first, second, x1, x2 = self.encode_pair(batch, forward)
        total, terms = sepclr_objective(
            (first.common_head, second.common_head),
            (first.salient_head, second.salient_head),
            batch.is_target,
            self.settings,
            self.independence,
            batch.shard,
            common_reps=(first.common_rep, second.common_rep),
        )
        decoder = self.network.decoder
        if decoder is not None:
            parts = [
                explaining_away_reconstruction(
                    decoder, out.common_rep, out.salient_rep, batch.is_target, x, self.decoder_noise
                )
                for out, x in zip((first, second), (x1, x2), strict=True)
            ]
            terms["reconstruction"] = 0.5 * torch.stack(parts).sum()
            total = total + self.decoder_weight * terms["reconstruction"]
        return total, terms


@torch.no_grad()
def encode(
    encoder: nn.Module,
    inputs: torch.Tensor,
    device: torch.device,
    batch_size: int = 1024,
    to_model_input: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> EncodedBatch:
    """Encoder outputs for ``inputs`` (stored rows, turned into model input by
    ``to_model_input`` one chunk at a time) in evaluation mode, on the CPU.
    """
    encoder.eval()
    to_model_input = to_model_input or (lambda x: x.float())
    parts = [
        EncodedBatch(*(t.float().cpu() for t in encoder(to_model_input(chunk.to(device)))))
        for chunk in inputs.split(batch_size)
    ]
    return EncodedBatch(*(torch.cat(ts) for ts in zip(*parts, strict=True)))
