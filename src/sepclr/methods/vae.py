"""The contrastive VAE baselines of the paper's Table 1, with the same contract as SepCLR:
CVAE and ConVAE (Abid & Zou 2019), MM-cVAE (Weinberger et al. 2022) and SepVAE (Louiset et
al. 2023), as the SepVAE authors' code (``sep_vae``) implements them.

All four share one model: a common and a salient Gaussian encoder, each on its own backbone,
and a decoder of ``[z_c, z_s]`` in which the salient code of background samples is replaced
by 0. The loss, summed over the batch as in that code, is

    SSE(x, x_hat) + beta_c sum_{X u Y} KL(q(z_c|x) || N(0, I))
                  + beta_s sum_{Y} KL(q(z_s|y) || N(0, I)) + (variant terms)

with the variant terms:

- CVAE: none.
- ConVAE: ``tc_weight * sum ReLU(logit D(z))`` on target codes, D the total-correlation
  discriminator trained beside the VAE (:func:`sepclr.objectives.vae.tc_penalty`).
- SepVAE: the background salient posterior has a fixed variance
  (``background_salient_variance``) and its mean is pulled to 0 by
  ``beta_s * background_salient_precision * |mu_s|^2 / 2``; plus the TC penalty
  (``tc_weight``). The official salient classifier (weight 1e-10, no effect) is left out.
- MM-cVAE: ``common_mmd_weight * MMD(z_c[X], z_c[Y]) + salient_mmd_weight * MMD(z_s[X], 0)``
  with the 13-kernel MMD of :func:`sepclr.objectives.independence.multi_kernel_mmd`.

Decisions where the spec is silent: the TC discriminator sees target samples only (the
background salient code is zeroed before decoding and carries nothing); the defaults are the
Digits-on-CIFAR recipe of the official code (64 + 64 dimensions, beta 0.5 / 0.5, batch 512,
Adam 1e-3 re-created every epoch) with 30 epochs instead of 250 for a CPU, and this
project's convnet backbone (widths w, 2w, 4w) instead of the official 32-channel towers.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sepclr.engine.devices import resolve_device
from sepclr.engine.loop import StopRequest
from sepclr.engine.vae_training import train_vae
from sepclr.errors import InvalidInputError
from sepclr.methods.base import ContrastiveEstimator, Standardiser, prefixed
from sepclr.methods.validation import as_float_tensor, check_choice, check_positive
from sepclr.nets.encoder import BACKBONES, resolve_backbone
from sepclr.nets.vae import ContrastiveVAENet, FactorDiscriminator
from sepclr.objectives.independence import multi_kernel_mmd
from sepclr.objectives.vae import (
    gaussian_kl,
    narrow_prior_mean_penalty,
    reparameterise,
    sum_squared_error,
    tc_penalty,
)


@dataclass(frozen=True)
class VAEWeights:
    """The weights of one variant's loss (0 or None switches a term off)."""

    beta_common: float
    beta_salient: float
    tc: float = 0.0
    background_salient_variance: float | None = None
    background_salient_precision: float = 0.0
    common_mmd: float = 0.0
    salient_mmd: float = 0.0


def contrastive_vae_loss(
    net: ContrastiveVAENet,
    x: torch.Tensor,
    is_target: torch.Tensor,
    weights: VAEWeights,
    discriminator: nn.Module | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The loss of the module docstring on one batch; returns it, its terms, and the sampled
    target codes ``(z_c, z_s)`` for the discriminator's own step."""
    common, salient = net(x)
    background = ~is_target
    salient_logvar = salient.logvar
    if weights.background_salient_variance is not None:
        fixed = torch.full_like(salient_logvar, math.log(weights.background_salient_variance))
        salient_logvar = torch.where(background[:, None], fixed, salient_logvar)
    z_c = reparameterise(common.mu, common.logvar)
    z_s = reparameterise(salient.mu, salient_logvar)
    decoded = net.decoder(torch.cat([z_c, z_s * is_target[:, None]], dim=1))

    terms = {
        "reconstruction": sum_squared_error(decoded, x),
        "kl": weights.beta_common * gaussian_kl(common.mu, common.logvar)
        + weights.beta_salient * gaussian_kl(salient.mu[is_target], salient.logvar[is_target]),
    }
    has_both = bool(is_target.any()) and bool(background.any())
    if weights.background_salient_precision > 0:
        terms["background_salient"] = weights.beta_salient * narrow_prior_mean_penalty(
            salient.mu[background], weights.background_salient_precision
        )
    if has_both and (weights.common_mmd > 0 or weights.salient_mmd > 0):
        bg_salient = z_s[background]
        terms["mmd"] = weights.common_mmd * multi_kernel_mmd(
            z_c[background], z_c[is_target]
        ) + weights.salient_mmd * multi_kernel_mmd(bg_salient, torch.zeros_like(bg_salient))
    if discriminator is not None and weights.tc > 0 and bool(is_target.any()):
        joint = torch.cat([z_c[is_target], z_s[is_target]], dim=1)
        terms["tc"] = weights.tc * tc_penalty(discriminator(joint))
    loss = torch.stack(list(terms.values())).sum()
    return loss, terms, (z_c[is_target], z_s[is_target])


class ContrastiveVAE(ContrastiveEstimator):
    """Shared fitting, encoding, decoding and persistence of the VAE baselines; each
    subclass states its parameters and its :class:`VAEWeights`."""

    common_dim: int
    salient_dim: int
    backbone: str
    beta_common: float
    beta_salient: float
    epochs: int
    batch_size: int
    lr: float
    max_grad_norm: float | None
    width: int
    hidden: int
    seed: int
    device: str
    verbose: bool

    def _weights(self) -> VAEWeights:
        raise NotImplementedError

    def _check_params(self) -> VAEWeights:
        for name in ("common_dim", "salient_dim", "batch_size", "width", "hidden"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("epochs", self.epochs, allow_zero=True, integer=True)
        check_positive("seed", self.seed, allow_zero=True, integer=True)
        if self.batch_size < 2:
            raise InvalidInputError(f"batch_size must be at least 2, got {self.batch_size}")
        check_positive("lr", self.lr)
        if self.max_grad_norm is not None:
            check_positive("max_grad_norm", self.max_grad_norm)
        check_choice("backbone", self.backbone, BACKBONES)
        for name, value in self.get_params().items():
            if name.endswith(("_weight", "_precision")) or name.startswith("beta_"):
                check_positive(name, value, allow_zero=True)
        return self._weights()

    def _build(self, sample_shape: tuple[int, ...]) -> ContrastiveVAENet:
        try:
            resolve_backbone(self.backbone, sample_shape)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from exc
        return ContrastiveVAENet(
            self.backbone, sample_shape, self.common_dim, self.salient_dim, self.width, self.hidden
        )

    def fit(
        self,
        background: Any,
        target: Any,
        checkpoint_dir: str | Path | None = None,
        checkpoint_every: int = 1,
        resume: bool = False,
    ) -> "ContrastiveVAE":
        """Train on ``background`` and ``target`` samples of the same shape. Returns
        ``self``. ``checkpoint_dir``, ``checkpoint_every``, ``resume``: as in
        :meth:`sepclr.SepCLR.fit`."""
        weights = self._check_params()
        inputs, is_target = self._stacked(background, target)
        sample_shape = tuple(inputs.shape[1:])
        device = resolve_device(self.device)
        standardiser = Standardiser.fit(inputs)
        checkpointer, resuming = self._checkpointer(
            checkpoint_dir, checkpoint_every, resume, inputs, is_target
        )
        with torch.random.fork_rng(devices=[]), StopRequest(checkpointer is not None) as stop:
            torch.manual_seed(self.seed)
            net = self._build(sample_shape)
            discriminator = None
            if weights.tc > 0:
                discriminator = FactorDiscriminator(self.common_dim + self.salient_dim)

            def loss_fn(
                x: torch.Tensor, targets: torch.Tensor
            ) -> tuple[torch.Tensor, dict[str, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
                return contrastive_vae_loss(net, x, targets, weights, discriminator)

            history = train_vae(
                net,
                standardiser(inputs),
                is_target,
                loss_fn,
                epochs=self.epochs,
                batch_size=self.batch_size,
                lr=self.lr,
                device=device,
                generator=torch.Generator().manual_seed(self.seed),
                discriminator=discriminator,
                verbose=self.verbose,
                description=type(self).__name__,
                max_grad_norm=self.max_grad_norm,
                checkpointer=checkpointer,
                resume=resuming,
                stop=stop,
            )
        self.net_ = net.cpu().eval()
        self.standardiser_ = standardiser
        self.history_ = history
        self.sample_shape_ = sample_shape
        return self

    @torch.no_grad()
    def _posterior_means(self, x: Any) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_fitted()
        inputs = as_float_tensor(x, "x")
        self._check_sample_shape(inputs)
        self.net_.eval()
        parts = [self.net_(chunk) for chunk in self.standardiser_(inputs).split(1024)]
        common = torch.cat([c.mu for c, _ in parts])
        salient = torch.cat([s.mu for _, s in parts])
        return common, salient

    def transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means of the common (n, common_dim) and salient (n, salient_dim)
        codes, float32."""
        common, salient = self._posterior_means(x)
        return common.numpy(), salient.numpy()

    @property
    def reconstructs(self) -> bool:
        return True

    @torch.no_grad()
    def reconstruct(self, x: Any, salient: bool = True) -> np.ndarray:
        """Decoded posterior means, in the input's layout (images channels first);
        ``salient=False`` decodes with the salient code set to 0, as for background
        samples, which shows what the common space alone holds."""
        common, salient_code = self._posterior_means(x)
        if not salient:
            salient_code = torch.zeros_like(salient_code)
        decoded = self.net_.decoder(torch.cat([common, salient_code], dim=1))
        scale, mean = self.standardiser_.scale, self.standardiser_.mean
        return (decoded * scale + mean).numpy()

    # --- persistence (see ContrastiveEstimator.save / load) --------------------------------

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        tensors = {f"net.{k}": v for k, v in self.net_.state_dict().items()}
        tensors["standardiser.mean"] = self.standardiser_.mean
        tensors["standardiser.scale"] = self.standardiser_.scale
        return tensors

    def _fitted_metadata(self) -> dict[str, Any]:
        return {"history": self.history_}

    def _set_fitted(self, fitted: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        self.history_ = fitted["history"]
        net = self._build(self.sample_shape_)
        net.load_state_dict(prefixed("net", tensors), strict=True)
        self.standardiser_ = Standardiser(
            tensors["standardiser.mean"], tensors["standardiser.scale"]
        )
        self.net_ = net.eval()


_SHARED_DOC = """
    Shared parameters: ``common_dim`` / ``salient_dim`` (latent sizes), ``backbone``
    (``auto``: MLP for (n, features), convnet for images), ``beta_common`` / ``beta_salient``
    (KL weights), ``epochs``, ``batch_size``, ``lr`` (Adam, for the VAE and the
    discriminator), ``max_grad_norm`` (clips the VAE's gradient norm; off by default),
    ``width`` (backbone base width), ``hidden`` (fully connected width), ``seed``,
    ``device``, ``verbose``. See :mod:`sepclr.methods.vae` for the loss.
"""


class CVAE(ContrastiveVAE):
    __doc__ = "Contrastive VAE of Abid & Zou (2019), without total-correlation term." + (
        _SHARED_DOC
    )

    def __init__(
        self,
        common_dim: int = 64,
        salient_dim: int = 64,
        backbone: str = "auto",
        beta_common: float = 0.5,
        beta_salient: float = 0.5,
        epochs: int = 30,
        batch_size: int = 512,
        lr: float = 1e-3,
        max_grad_norm: float | None = None,
        width: int = 16,
        hidden: int = 256,
        seed: int = 0,
        device: str = "auto",
        verbose: bool = True,
    ) -> None:
        self.common_dim = common_dim
        self.salient_dim = salient_dim
        self.backbone = backbone
        self.beta_common = beta_common
        self.beta_salient = beta_salient
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_grad_norm = max_grad_norm
        self.width = width
        self.hidden = hidden
        self.seed = seed
        self.device = device
        self.verbose = verbose

    def _weights(self) -> VAEWeights:
        return VAEWeights(float(self.beta_common), float(self.beta_salient))


class ConVAE(ContrastiveVAE):
    __doc__ = (
        "Contrastive VAE of Abid & Zou (2019) with its total-correlation discriminator "
        "(``tc_weight``, 1 on Digits-on-CIFAR in the SepVAE authors' ``con_vae.py``)." + _SHARED_DOC
    )

    def __init__(
        self,
        common_dim: int = 64,
        salient_dim: int = 64,
        backbone: str = "auto",
        beta_common: float = 0.5,
        beta_salient: float = 0.5,
        tc_weight: float = 1.0,
        epochs: int = 30,
        batch_size: int = 512,
        lr: float = 1e-3,
        max_grad_norm: float | None = None,
        width: int = 16,
        hidden: int = 256,
        seed: int = 0,
        device: str = "auto",
        verbose: bool = True,
    ) -> None:
        self.common_dim = common_dim
        self.salient_dim = salient_dim
        self.backbone = backbone
        self.beta_common = beta_common
        self.beta_salient = beta_salient
        self.tc_weight = tc_weight
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_grad_norm = max_grad_norm
        self.width = width
        self.hidden = hidden
        self.seed = seed
        self.device = device
        self.verbose = verbose

    def _weights(self) -> VAEWeights:
        return VAEWeights(float(self.beta_common), float(self.beta_salient), float(self.tc_weight))


class SepVAE(ContrastiveVAE):
    __doc__ = (
        "SepVAE (Louiset et al. 2023): background salient codes held near 0 by a narrow "
        "prior (``background_salient_precision`` = 1/0.01, posterior variance "
        "``background_salient_variance`` = 0.1) and the TC penalty (``tc_weight`` = 2), the "
        "Digits-on-CIFAR values of the official ``sep_vae.py``." + _SHARED_DOC
    )

    def __init__(
        self,
        common_dim: int = 64,
        salient_dim: int = 64,
        backbone: str = "auto",
        beta_common: float = 0.5,
        beta_salient: float = 0.5,
        tc_weight: float = 2.0,
        background_salient_precision: float = 100.0,
        background_salient_variance: float = 0.1,
        epochs: int = 30,
        batch_size: int = 512,
        lr: float = 1e-3,
        max_grad_norm: float | None = None,
        width: int = 16,
        hidden: int = 256,
        seed: int = 0,
        device: str = "auto",
        verbose: bool = True,
    ) -> None:
        self.common_dim = common_dim
        self.salient_dim = salient_dim
        self.backbone = backbone
        self.beta_common = beta_common
        self.beta_salient = beta_salient
        self.tc_weight = tc_weight
        self.background_salient_precision = background_salient_precision
        self.background_salient_variance = background_salient_variance
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_grad_norm = max_grad_norm
        self.width = width
        self.hidden = hidden
        self.seed = seed
        self.device = device
        self.verbose = verbose

    def _weights(self) -> VAEWeights:
        check_positive("background_salient_variance", self.background_salient_variance)
        return VAEWeights(
            float(self.beta_common),
            float(self.beta_salient),
            tc=float(self.tc_weight),
            background_salient_variance=float(self.background_salient_variance),
            background_salient_precision=float(self.background_salient_precision),
        )


class MMCVAE(ContrastiveVAE):
    __doc__ = (
        "MM-cVAE (Weinberger, Lin, Lee; AISTATS 2022): MMD between the background and target "
        "common codes (``common_mmd_weight`` = 1000) and between the background salient codes "
        "and 0 (``salient_mmd_weight`` = 100), the weights of the SepVAE authors' "
        "``mm-cvae.py``." + _SHARED_DOC
    )

    def __init__(
        self,
        common_dim: int = 64,
        salient_dim: int = 64,
        backbone: str = "auto",
        beta_common: float = 0.5,
        beta_salient: float = 0.5,
        common_mmd_weight: float = 1000.0,
        salient_mmd_weight: float = 100.0,
        epochs: int = 30,
        batch_size: int = 512,
        lr: float = 1e-3,
        max_grad_norm: float | None = None,
        width: int = 16,
        hidden: int = 256,
        seed: int = 0,
        device: str = "auto",
        verbose: bool = True,
    ) -> None:
        self.common_dim = common_dim
        self.salient_dim = salient_dim
        self.backbone = backbone
        self.beta_common = beta_common
        self.beta_salient = beta_salient
        self.common_mmd_weight = common_mmd_weight
        self.salient_mmd_weight = salient_mmd_weight
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_grad_norm = max_grad_norm
        self.width = width
        self.hidden = hidden
        self.seed = seed
        self.device = device
        self.verbose = verbose

    def _weights(self) -> VAEWeights:
        return VAEWeights(
            float(self.beta_common),
            float(self.beta_salient),
            common_mmd=float(self.common_mmd_weight),
            salient_mmd=float(self.salient_mmd_weight),
        )
