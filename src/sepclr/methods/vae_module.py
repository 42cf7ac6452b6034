"""The torch side of the contrastive VAE baselines: the loss of one batch, as the SepVAE
authors' code (``sep_vae``) computes it, summed over the batch so that the published weights
keep their meaning.

    SSE(x, x_hat) + beta_c sum_{X u Y} KL(q(z_c|x) || N(0, I))
                  + beta_s sum_{Y} KL(q(z_s|y) || N(0, I)) + (variant terms)

The decoder reads ``[z_c, z_s]`` with the salient code of background samples replaced by 0.
The variant terms (their weights in :class:`VAEWeights`):

- ``tc``: the total-correlation penalty on target codes
  (:class:`sepclr.objectives.critics.TotalCorrelation`, summed), its discriminator trained
  beside the VAE (ConVAE, SepVAE);
- ``background_salient``: the background salient posterior has a fixed variance and its
  mean is pulled to 0 by ``beta_s * precision * |mu_s|^2 / 2`` (SepVAE);
- ``mmd``: ``common_mmd * MMD(z_c[X], z_c[Y]) + salient_mmd * MMD(z_s[X], 0)`` with the
  13-kernel MMD of :func:`sepclr.objectives.independence.multi_kernel_mmd` (MM-cVAE).
"""

from dataclasses import dataclass

import torch

from sepclr.engine.shard import SINGLE_PROCESS, Shard
from sepclr.engine.training import Batch, Forward, Terms, TrainingModule
from sepclr.nets.vae import ContrastiveVAENet
from sepclr.objectives.critics import Critic, TotalCorrelation
from sepclr.objectives.independence import multi_kernel_mmd
from sepclr.objectives.vae import gaussian_kl, narrow_prior_mean_penalty, sum_squared_error


@dataclass(frozen=True)
class VAEWeights:
    """The weights of one variant's loss (0 switches a term off).

    Parameters
    ----------
    beta_common, beta_salient : float
        The weights of the common and salient KL terms.
    tc : float
        The total-correlation penalty's.
    background_salient_precision : float
        The precision of the narrow prior on background salient codes.
    common_mmd : float
        The common-code MMD's.
    salient_mmd : float
        The background salient MMD's.
    """

    beta_common: float
    beta_salient: float
    tc: float = 0.0
    background_salient_precision: float = 0.0
    common_mmd: float = 0.0
    salient_mmd: float = 0.0


def contrastive_vae_loss(
    net: ContrastiveVAENet,
    x: torch.Tensor,
    is_target: torch.Tensor,
    weights: VAEWeights,
    tc: TotalCorrelation | None = None,
    forward: Forward | None = None,
    shard: Shard = SINGLE_PROCESS,
    covariates: torch.Tensor | None = None,
) -> tuple[torch.Tensor, Terms]:
    """The loss of the module docstring on one batch, and its terms. ``tc`` is the
    total-correlation critic (called on the target codes, which it keeps for its own step);
    ``forward`` runs ``net`` (itself by default). With a batch split across processes
    (``shard``), every term is the global batch's, in every process.
    """
    inputs = (x, is_target) if covariates is None else (x, is_target, covariates)
    out = (forward or net)(*inputs)
    common, salient = out.common, out.salient
    background = ~is_target
    terms = {
        "reconstruction": shard.sum(sum_squared_error(out.decoded, x)),
        "kl": shard.sum(
            weights.beta_common * gaussian_kl(common.mu, common.logvar)
            + weights.beta_salient * gaussian_kl(salient.mu[is_target], salient.logvar[is_target])
        ),
    }
    n_target = shard.count(int(is_target.sum()))
    has_both = 0 < n_target < shard.count(len(x))
    if weights.background_salient_precision > 0:
        terms["background_salient"] = shard.sum(
            weights.beta_salient
            * narrow_prior_mean_penalty(
                salient.mu[background], weights.background_salient_precision
            )
        )
    if has_both and (weights.common_mmd > 0 or weights.salient_mmd > 0):
        bg_common, bg_salient = (
            shard.gather_uneven(out.z_c[background]),
            shard.gather_uneven(out.z_s[background]),
        )
        tg_common = shard.gather_uneven(out.z_c[is_target])
        terms["mmd"] = weights.common_mmd * multi_kernel_mmd(
            bg_common, tg_common
        ) + weights.salient_mmd * multi_kernel_mmd(bg_salient, torch.zeros_like(bg_salient))
    if tc is not None and weights.tc > 0 and n_target > 0:
        z_c, z_s = (shard.gather_uneven(z[is_target]) for z in (out.z_c, out.z_s))
        terms["tc"] = weights.tc * tc(z_c, z_s)
    return torch.stack(list(terms.values())).sum(), terms


class ContrastiveVAEModule(TrainingModule):
    """A contrastive VAE (``network``), its loss weights and, with a TC weight, the
    total-correlation discriminator trained beside it (lr ``lr``). As in the SepVAE
    authors' code, every optimiser is created anew at each epoch.

    Parameters
    ----------
    net : ContrastiveVAENet
        The network.
    weights : VAEWeights
        The loss weights.
    lr : float
        The discriminator's learning rate.
    """

    renews_optimizers = True

    def __init__(self, net: ContrastiveVAENet, weights: VAEWeights, lr: float) -> None:
        super().__init__()
        self.network = net
        self.weights = weights
        self.tc: TotalCorrelation | None = None
        if weights.tc > 0:
            dims = (net.common.mu.out_features, net.salient.mu.out_features)
            self.tc = TotalCorrelation(*dims, lr=lr, reduction="sum")

    def adversaries(self) -> dict[str, Critic]:
        return {} if self.tc is None else {"discriminator": self.tc}

    def loss(self, batch: Batch, forward: Forward) -> tuple[torch.Tensor, Terms]:
        assert isinstance(self.network, ContrastiveVAENet)
        return contrastive_vae_loss(
            self.network,
            batch.x,
            batch.is_target,
            self.weights,
            self.tc,
            forward,
            batch.shard,
            batch.covariates,
        )
