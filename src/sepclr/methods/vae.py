"""The contrastive VAE baselines of the paper's Table 1, with the same contract as SepCLR:
CVAE and ConVAE (Abid & Zou 2019), MM-cVAE (Weinberger et al. 2022) and SepVAE (Louiset et
al. 2023), as the SepVAE authors' code (``sep_vae``) implements them.

All four share one model: a common and a salient Gaussian encoder, each on its own backbone,
and a decoder of ``[z_c, z_s]`` in which the salient code of background samples is replaced
by 0; the loss is :func:`sepclr.methods.vae_module.contrastive_vae_loss`. A variant is its
parameters and its :class:`sepclr.methods.vae_module.VAEWeights`.

Choices where the papers are silent: the TC discriminator sees target samples only (the
background salient code is zeroed before decoding and carries nothing); the defaults are the
Digits-on-CIFAR recipe of the official code (64 + 64 dimensions, beta 0.5 / 0.5, batch 512,
Adam 1e-3 re-created every epoch) with 30 epochs instead of 250 for a CPU, and this
project's convnet backbone (widths w, 2w, 4w) instead of the official 32-channel towers; the
official SepVAE salient classifier (weight 1e-10, no effect) is left out.
"""

from typing import TYPE_CHECKING, Any, ClassVar, Unpack

import numpy as np
import torch

from sepclr.engine.devices import resolve_device
from sepclr.engine.training import TrainingData, TrainingModule
from sepclr.errors import InvalidInputError
from sepclr.methods.base import (
    CodeFunction,
    FitSpec,
    TrainedEstimator,
    TrainingParams,
    prefixed,
)
from sepclr.methods.parameters import NON_NEGATIVE, Choice, Integer, Param
from sepclr.methods.vae_module import ContrastiveVAEModule, VAEWeights
from sepclr.methods.validation import as_float_tensor
from sepclr.nets.encoder import BACKBONES
from sepclr.nets.vae import ContrastiveVAENet
from sepclr.registry import register_method


class VAEParams(TrainingParams, total=False):
    """The parameters ContrastiveVAE takes by name (see its class docstring)."""

    backbone: str
    beta_common: float
    beta_salient: float
    width: int
    hidden: int


class ContrastiveVAE(TrainedEstimator):
    """Shared fitting, encoding, decoding and persistence of the VAE baselines; each
    variant declares its own parameters and its :meth:`_weights`."""

    network_name: ClassVar[str] = "net"
    supports_processes: ClassVar[bool] = True
    net_: ContrastiveVAENet

    common_dim = Param(64, Integer(1), "Size of the common latent code.")
    salient_dim = Param(64, Integer(1), "Size of the salient latent code.")
    backbone = Param(
        "auto", Choice(BACKBONES), '"auto": an MLP for (n, features), a convnet for images.'
    )
    beta_common = Param(0.5, NON_NEGATIVE, "Weight of the common KL term.")
    beta_salient = Param(0.5, NON_NEGATIVE, "Weight of the salient KL term.")
    width = Param(16, Integer(1), "Base width of the backbones.")
    hidden = Param(256, Integer(1), "Width of the fully connected layers.")

    if TYPE_CHECKING:

        def __init__(
            self,
            common_dim: int = 64,
            salient_dim: int = 64,
            **params: Unpack[VAEParams],
        ) -> None: ...

    def _weights(self) -> VAEWeights:
        return VAEWeights(
            float(self.beta_common), float(self.beta_salient), **self._variant_weights()
        )

    def _variant_weights(self) -> dict[str, float]:
        """The weights of the variant's own terms (see :class:`VAEWeights`)."""
        return {}

    def _build(self, spec: FitSpec) -> ContrastiveVAENet:
        return ContrastiveVAENet(
            spec.backbone,
            spec.sample_shape,
            int(self.common_dim),
            int(self.salient_dim),
            int(self.width),
            int(self.hidden),
            self.covariates_.width if hasattr(self, "covariates_") else 0,
        )

    def _build_module(self, spec: FitSpec, device: torch.device) -> TrainingModule:
        return ContrastiveVAEModule(self._build(spec), self._weights(), float(self.lr))

    def _keep_trained(
        self, spec: FitSpec, module: TrainingModule, data: TrainingData, device: torch.device
    ) -> None:
        assert isinstance(module.network, ContrastiveVAENet)
        self.net_ = module.network.cpu().eval()

    @torch.no_grad()
    def _posterior_means(self, x: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior means of ``x``'s codes, computed on the model's ``device``,
        returned on the CPU."""
        self._check_fitted()
        inputs = as_float_tensor(x, "x")
        self._check_sample_shape(inputs)
        device = resolve_device(str(self.device))
        net = self.net_.to(device).eval()
        try:
            parts = [
                net.encode(self.standardiser_(chunk.to(device))) for chunk in inputs.split(1024)
            ]
        finally:
            self.net_.cpu()
        common = torch.cat([c.mu.cpu() for c, _ in parts])
        salient = torch.cat([s.mu.cpu() for _, s in parts])
        return common, salient

    def _transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means of the common and salient codes."""
        common, salient = self._posterior_means(x)
        return common.numpy(), salient.numpy()

    def _raw_code_function(self, device: torch.device) -> CodeFunction:
        """The posterior means, differentiable."""
        net = self.net_.to(device).eval()

        def codes(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            common, salient = net.encode(self.standardiser_(x))
            return common.mu, salient.mu

        return codes

    @property
    def reconstructs(self) -> bool:
        """True: every VAE has a decoder."""
        return True

    @torch.no_grad()
    def reconstruct(self, x: Any, salient: bool = True, covariates: Any = None) -> np.ndarray:
        """Decoded posterior means of ``x``'s codes.

        Parameters
        ----------
        x : array-like, shape (n, ...)
            Samples of the shape the model was fitted on.
        salient : bool
            Decode with the salient code; False sets it to 0, as for background samples,
            which shows what the common space alone holds.
        covariates : DataFrame or dict, optional
            The samples' covariates, for a model fitted with covariates (its decoder reads
            them). Without them the decoder reads 0: the mean of each continuous covariate
            and no category of a categorical one.

        Returns
        -------
        ndarray of float32
            The rebuilt samples, in the layout of ``x`` (images channels first).
        """
        common, salient_code = self._posterior_means(x)
        if not salient:
            salient_code = torch.zeros_like(salient_code)
        codes = [common, salient_code]
        if hasattr(self, "covariates_"):
            encoded = (
                np.zeros((len(common), self.covariates_.width), dtype=np.float32)
                if covariates is None
                else self.covariates_.encode(covariates, "x", len(common))
            )
            codes.append(torch.from_numpy(encoded))
        elif covariates is not None:
            raise InvalidInputError(f"this {type(self).__name__} was fitted without covariates")
        decoded = self.net_.decoder(torch.cat(codes, dim=1))
        return self.standardiser_.invert(decoded).numpy()

    def _set_fitted(self, fitted: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        super()._set_fitted(fitted, tensors)
        net = self._build(self.resolve_fit(self.sample_shape_))
        net.load_state_dict(prefixed("net", tensors), strict=True)
        self.net_ = net.eval()


@register_method("cvae", "CVAE")
class CVAE(ContrastiveVAE):
    """Contrastive VAE of Abid & Zou (2019), without total-correlation term.

    Examples
    --------
    >>> import numpy as np
    >>> from sepclr import CVAE
    >>> rng = np.random.default_rng(0)
    >>> model = CVAE(3, 2, epochs=1, verbose=False, device="cpu")
    >>> model = model.fit(rng.normal(size=(32, 6)), rng.normal(size=(32, 6)))
    >>> model.reconstruct(np.zeros((4, 6))).shape
    (4, 6)
    """


class ConVAEParams(VAEParams, total=False):
    """The parameters ConVAE takes by name (see its class docstring)."""

    tc_weight: float


@register_method("convae", "ConVAE")
class ConVAE(ContrastiveVAE):
    """Contrastive VAE of Abid & Zou (2019) with its total-correlation discriminator."""

    tc_weight = Param(
        1.0,
        NON_NEGATIVE,
        "Weight of the TC penalty (1 on Digits-on-CIFAR in the SepVAE authors' con_vae.py).",
    )

    if TYPE_CHECKING:

        def __init__(
            self,
            common_dim: int = 64,
            salient_dim: int = 64,
            **params: Unpack[ConVAEParams],
        ) -> None: ...

    def _variant_weights(self) -> dict[str, float]:
        return {"tc": float(self.tc_weight)}


class MMCVAEParams(VAEParams, total=False):
    """The parameters MMCVAE takes by name (see its class docstring)."""

    common_mmd_weight: float
    salient_mmd_weight: float


@register_method("mm-cvae", "MM-cVAE")
class MMCVAE(ContrastiveVAE):
    """MM-cVAE (Weinberger, Lin, Lee; AISTATS 2022): MMD between the background and target
    common codes and between the background salient codes and 0, with the weights of the
    SepVAE authors' ``mm-cvae.py``."""

    common_mmd_weight = Param(1000.0, NON_NEGATIVE, "Weight of the common-code MMD.")
    salient_mmd_weight = Param(100.0, NON_NEGATIVE, "Weight of the background salient MMD.")

    if TYPE_CHECKING:

        def __init__(
            self,
            common_dim: int = 64,
            salient_dim: int = 64,
            **params: Unpack[MMCVAEParams],
        ) -> None: ...

    def _variant_weights(self) -> dict[str, float]:
        return {
            "common_mmd": float(self.common_mmd_weight),
            "salient_mmd": float(self.salient_mmd_weight),
        }


class SepVAEParams(VAEParams, total=False):
    """The parameters SepVAE takes by name (see its class docstring)."""

    tc_weight: float
    background_salient_precision: float


@register_method("sepvae", "SepVAE")
class SepVAE(ContrastiveVAE):
    """SepVAE (Louiset et al. 2023): background salient codes held near 0 by a narrow prior,
    and the TC penalty; the Digits-on-CIFAR values of the official ``sep_vae.py``.

    The official code also fixes the posterior variance of background salient codes; here
    those codes are zeroed before decoding and the TC discriminator sees targets only, so
    that variance would change nothing and is not a parameter."""

    tc_weight = Param(2.0, NON_NEGATIVE, "Weight of the TC penalty.")
    background_salient_precision = Param(
        100.0, NON_NEGATIVE, "Precision of the narrow prior on background salient codes."
    )

    if TYPE_CHECKING:

        def __init__(
            self,
            common_dim: int = 64,
            salient_dim: int = 64,
            **params: Unpack[SepVAEParams],
        ) -> None: ...

    def _variant_weights(self) -> dict[str, float]:
        return {
            "tc": float(self.tc_weight),
            "background_salient_precision": float(self.background_salient_precision),
        }
