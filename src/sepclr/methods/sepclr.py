"""SepCLR (Louiset, Duchesnay, Grigis, Gori; ICLR 2024) as a scikit-learn-style estimator."""

from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Unpack

import numpy as np
import torch
from torch import nn

from sepclr.engine.devices import resolve_device
from sepclr.engine.performance import set_memory_format
from sepclr.engine.shard import Shard
from sepclr.engine.training import TrainingData, TrainingModule
from sepclr.errors import InvalidInputError
from sepclr.methods.base import (
    CodeFunction,
    FitSpec,
    TrainedEstimator,
    TrainingParams,
    prefixed,
    view_kind,
)
from sepclr.methods.parameters import (
    BOOLEAN,
    NON_NEGATIVE,
    POSITIVE,
    Choice,
    Either,
    Exactly,
    Integer,
    Param,
    Rule,
    check_choice,
    optional,
)
from sepclr.methods.residuals import RESIDUALS, apply_residuals, fit_residuals
from sepclr.methods.sepclr_module import SepCLRModule, encode
from sepclr.methods.supervised import SupervisedSepCLRModule, attribute_rows
from sepclr.methods.validation import as_sample_tensor
from sepclr.nets.encoder import BACKBONES, EncodedBatch, TwoBranchEncoder
from sepclr.nets.speed import VIEW_PASSES, resolve_view_passes
from sepclr.objectives import SepCLRObjectiveSettings, build_independence
from sepclr.objectives.redundancy import REDUNDANCY_TERMS
from sepclr.objectives.supervised import ATTRIBUTE_KINDS
from sepclr.registry import TERMS, register_method
from sepclr.views import build_views, options_as_dict, view_options

OBJECTIVES = ("extended", "paper")


def _mix_range(name: str, mix: Any) -> tuple[float, float]:
    """``salient_background_mix`` as a (low, high) range of mixing weights in [0, 1)."""
    try:
        low, high = (float(v) for v in mix) if isinstance(mix, list | tuple) else (0.0, float(mix))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{name} must be a number or a [low, high] pair, got {mix!r}"
        ) from exc
    if not 0 <= low <= high < 1:
        raise InvalidInputError(
            f"{name} must be a weight in [0, 1) or a range [low, high] of such weights, got {mix!r}"
        )
    return low, high


def _check_mix(name: str, value: Any) -> None:
    _mix_range(name, value)


def _check_attributes(name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or not value:
        raise InvalidInputError(
            f"{name} must be a dict of attribute name -> 'discrete' or 'continuous', got {value!r}"
        )
    for attribute, kind in value.items():
        check_choice(f"kind of attribute {attribute!r}", kind, ATTRIBUTE_KINDS)


def _check_views(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, dict):
        raise InvalidInputError(f"{name} must be None or a dict of options, got {value!r}")


class SepCLRParams(TrainingParams, total=False):
    """The parameters SepCLR takes by name (see its class docstring)."""

    batch_size: int | str
    lr: float
    backbone: str
    objective: str
    independence: str
    independence_weight: float
    salient_weight: float
    infoless_weight: float
    bandwidth: float
    width: int
    salient_projector: bool
    common_projector: bool
    salient_background_mix: float | tuple[float, float]
    redundancy: str
    redundancy_weight: float
    conditional_uniformity: bool
    decoder_weight: float
    decoder_noise: float
    residualize: str | None
    salient_attributes: dict[str, str] | None
    view_passes: str
    views: dict[str, Any] | None


@register_method("sepclr", "SepCLR", baseline=False)
class SepCLR(TrainedEstimator):
    """Separate common from salient patterns with contrastive learning.

    ``fit(background, target)`` trains a common and a salient encoder; ``transform(x)``
    returns the common and salient representations (the pre-projector outputs, of sizes
    ``common_dim`` and ``salient_dim``).

    The training loss is the paper's (:func:`sepclr.objectives.sepclr_objective`, SepCLR,
    Louiset et al., ICLR 2024, Eq. 10 with k-JEM, Eq. 9) with beta_S = ``salient_weight``,
    beta_reg = ``infoless_weight`` and lambda = ``independence_weight``; the default weights
    (1 / 100 / 100, no salient projector, no flips) are this project's choice for small
    data. The default ``objective="paper"`` is the paper's method and nothing else.

    ``objective="extended"`` opts in to this project's extensions, and first to a linear
    correction of the codes after training (``residualize``, "both" unless said otherwise):
    ``fit`` takes out of ``s`` what a linear function of ``c`` predicts on the training
    targets (``c`` restricted to the leading principal directions of the backgrounds'
    common codes), then out of ``c`` what the corrected ``s`` predicts
    (:mod:`sepclr.methods.residuals`). With the paper's loss the salient space keeps common
    factors that are easy to learn, and on data where the common code carries none of the
    salient factor the correction takes them out. **Its failure mode:** where the common
    code carries part of the salient factor, as on real measurements where the target's
    pattern moves features that also vary among backgrounds, the correction takes the
    salient factor out of ``s`` too, and it moves backgrounds away from ``s' = 0`` (their
    salient code becomes minus the prediction from their common code), so the salient score
    no longer tells targets from backgrounds as well. Check with
    :func:`sepclr.evaluation.diagnostics.label_free_diagnostics`, or let
    :func:`sepclr.selection.select` choose without labels.

    Attributes
    ----------
    encoder_ : sepclr.nets.encoder.TwoBranchEncoder
        The trained encoders, on the CPU.
    history_ : list of dict
        The mean of each loss term per epoch.
    sample_shape_ : tuple of int
        The shape of one training sample.

    Notes
    -----
    Inputs: arrays or tensors of shape (n, features), (n, H, W), (n, C, H, W) or
    (n, C, D, H, W); images in [0, 1] (float) or [0, 255] (uint8, kept uint8 until a batch is
    built). A NaN or infinite loss stops ``fit`` with
    :class:`sepclr.errors.TrainingDivergedError` naming the term. Under ``torchrun`` (an
    initialised ``torch.distributed`` process group), ``fit`` trains on all processes
    (:mod:`sepclr.engine.distributed`); every process must call it with the same data.

    Examples
    --------
    >>> import numpy as np
    >>> from sepclr import SepCLR
    >>> rng = np.random.default_rng(0)
    >>> background, target = rng.normal(size=(64, 8)), rng.normal(size=(64, 8)) + 1
    >>> model = SepCLR(4, 2, epochs=2, verbose=False, device="cpu").fit(background, target)
    >>> [code.shape for code in model.transform(target)]
    [(64, 4), (64, 2)]
    """

    keeps_uint8: ClassVar[bool] = True
    supports_processes: ClassVar[bool] = True
    network_name: ClassVar[str] = "encoder"
    encoder_: TwoBranchEncoder
    residuals_: dict[str, tuple[torch.Tensor, torch.Tensor]]
    view_options_: dict[str, Any]

    batch_size: Param[int | str] = Param(
        "auto",
        Either((Exactly("auto"), Integer(2))),
        'Rows per step, both groups together (the global batch under torchrun). "auto": 256, '
        "or an eighth of the rows when that is smaller, so that small datasets still get "
        "enough steps.",
    )
    lr = Param(3e-4, POSITIVE, "Adam's learning rate.")
    backbone = Param(
        "auto",
        Choice(BACKBONES),
        '"auto" is an MLP for tables and a small convnet, 2-D or 3-D, for images and volumes.',
    )
    objective = Param(
        "paper",
        Choice(OBJECTIVES),
        '"paper" is the paper\'s method and refuses the options that change it '
        "(residualize, redundancy, conditional_uniformity, salient_background_mix, "
        'decoder_weight); "extended" allows them and corrects the codes after training '
        "(see residualize).",
    )
    independence = Param(
        "k-jem",
        Choice(TERMS),
        "Any row of the paper's Table 1. Trained critics (``tc``, ``vclub-*``, ``vl1out-*``, "
        "``vub-*``) take one Adam step (lr 1e-3) per view after each encoder step and are "
        "not saved.",
    )
    independence_weight = Param(100.0, NON_NEGATIVE, "lambda, the weight of the independence term.")
    salient_weight = Param(1.0, NON_NEGATIVE, "beta_S, the weight of the salient terms.")
    infoless_weight = Param(100.0, NON_NEGATIVE, "beta_reg, the weight of the s' penalty.")
    bandwidth = Param(0.5, POSITIVE, "The tau of every kernel, exp(-d^2 / (2 tau)).")
    width = Param(16, Integer(1), "Base width of the backbones.")
    salient_projector = Param(
        False,
        BOOLEAN,
        "A projector head on the salient branch (the official code has one; without it the "
        "salient terms act on the representation transform returns).",
    )
    common_projector = Param(True, BOOLEAN, "A projector head on the common branch.")
    salient_background_mix: Param[float | tuple[float, float]] = Param(
        0.0,
        Rule(_check_mix, "float or [low, high]"),
        "Salient-branch views mixed with a random background of the batch, "
        "(1 - w) x + w b with w ~ U(low, high).",
    )
    redundancy = Param(
        "none",
        Choice(REDUNDANCY_TERMS),
        "A penalty on the dependence between the target rows' common and salient codes "
        "within each batch (sepclr.objectives.redundancy).",
    )
    redundancy_weight = Param(0.0, NON_NEGATIVE, "Its weight.")
    conditional_uniformity = Param(
        False, BOOLEAN, "Replace the s'-uniformity by a kernel estimate of minus H(s | c)."
    )
    decoder_weight = Param(
        0.0,
        NON_NEGATIVE,
        "An explaining-away decoder from [c, s] to the input, backgrounds decoded with "
        "s' = 0; reconstruct then gives counterfactual inputs.",
    )
    decoder_noise = Param(0.0, NON_NEGATIVE, "Gaussian noise on the target salient codes.")
    residualize: Param[str | None] = Param(
        None,
        optional(Choice(RESIDUALS)),
        'The post-hoc correction: "salient" corrects s, "both" also c. None: "both" for the '
        'extended objective, "none" for the paper\'s and with salient_attributes.',
    )
    salient_attributes: Param[dict[str, str] | None] = Param(
        None,
        Rule(_check_attributes, "dict or None"),
        'Supervised SepCLR: one salient dimension per named attribute ("discrete" or '
        '"continuous"), whose values fit takes as attributes.',
    )
    view_passes = Param(
        "auto",
        Choice(VIEW_PASSES),
        'The two views of a batch through the encoder in one forward pass ("fused") or one '
        'pass each ("separate", as the official code does: BatchNorm normalises each view '
        'alone). "auto": the faster where measured, separate for ResNet-18 on CPUs, fused '
        "otherwise.",
    )
    views: Param[dict[str, Any] | None] = Param(
        None, Rule(_check_views, "dict or None"), "Overrides of the view options."
    )

    if TYPE_CHECKING:

        def __init__(
            self,
            common_dim: int = 32,
            salient_dim: int = 32,
            **params: Unpack[SepCLRParams],
        ) -> None: ...

    # --- parameters ----------------------------------------------------------------------

    def _check_consistency(self) -> None:
        attributes = self.salient_attributes
        if attributes is not None and self.salient_dim != len(attributes):
            raise InvalidInputError(
                f"salient_attributes names {len(attributes)} attributes, one salient "
                f"dimension each, but salient_dim={self.salient_dim}"
            )
        if attributes is not None:
            self._check_supervised()
        self._check_pairs()
        if self.objective != "paper":
            return
        extensions = {
            "residualize": self.residual_mode != "none",
            "redundancy": self.redundancy != "none" and self.redundancy_weight > 0,
            "conditional_uniformity": self.conditional_uniformity,
            "decoder_weight": self.decoder_weight > 0,
            "salient_background_mix": self._mix()[1] > 0,
        }
        used = [name for name, on in extensions.items() if on]
        if used:
            raise InvalidInputError(
                f"objective='paper' is the paper's loss without this project's extensions, "
                f"but {', '.join(used)} asks for one; leave it at its default or use "
                "objective='extended'"
            )

    def _check_pairs(self) -> None:
        """Refuse a setting that the rest of the settings switch off."""
        defaults = type(self)
        idle = {
            "redundancy_weight": (
                self.redundancy_weight > 0 and self.redundancy == "none",
                "redundancy='none'; name a redundancy term",
            ),
            "redundancy": (
                self.redundancy != "none" and self.redundancy_weight == 0,
                "redundancy_weight=0; give it a positive weight",
            ),
            "decoder_noise": (
                self.decoder_noise != defaults.decoder_noise.default and self.decoder_weight == 0,
                "decoder_weight=0 (no decoder); give the decoder a positive weight",
            ),
            "independence_weight": (
                self.independence == "none"
                and self.independence_weight != defaults.independence_weight.default,
                "independence='none'; name an independence term",
            ),
        }
        for name, (unused, fix) in idle.items():
            if unused:
                raise InvalidInputError(
                    f"{name}={getattr(self, name)!r} has no effect with {fix}, or leave "
                    f"{name} at its default"
                )

    def _check_supervised(self) -> None:
        """Refuse what supervised SepCLR's loss (the official one) does not use, rather than
        ignore it: its background pull is part of its salient loss, and it has no
        decoder, redundancy, conditional uniformity or correction."""
        unused = {
            "infoless_weight": self.infoless_weight != type(self).infoless_weight.default,
            "decoder_weight": self.decoder_weight > 0,
            "redundancy": self.redundancy != "none",
            "conditional_uniformity": bool(self.conditional_uniformity),
            "residualize": self.residualize not in (None, "none"),
        }
        used = [name for name, on in unused.items() if on]
        if used:
            raise InvalidInputError(
                f"supervised SepCLR (salient_attributes) does not use {', '.join(used)}; "
                "leave it at its default"
            )

    @property
    def residual_mode(self) -> str:
        """``residualize`` as resolved: when None, ``"both"`` for the extended objective and
        ``"none"`` for the paper's and for supervised SepCLR (whose salient dimensions each
        learn a named attribute)."""
        if self.residualize is not None:
            return str(self.residualize)
        extended = self.objective == "extended" and self.salient_attributes is None
        return "both" if extended else "none"

    def _mix(self) -> tuple[float, float]:
        return _mix_range("salient_background_mix", self.salient_background_mix)

    def _objective_settings(self) -> SepCLRObjectiveSettings:
        return SepCLRObjectiveSettings(
            salient=float(self.salient_weight),
            infoless=float(self.infoless_weight),
            independence=float(self.independence_weight),
            common_bandwidth=float(self.bandwidth),
            salient_bandwidth=float(self.bandwidth),
            redundancy=str(self.redundancy),
            redundancy_weight=float(self.redundancy_weight),
            conditional_uniformity=bool(self.conditional_uniformity),
        )

    def untrained(self) -> "SepCLR":
        """An unfitted copy with ``epochs=0`` and no correction after training.

        Returns
        -------
        SepCLR
            Fitted, it is the encoder at its initialisation: the floor the probes of a
            trained model are compared with.
        """
        floor = super().untrained()
        floor.residualize = "none"
        return floor

    # --- fitting ---------------------------------------------------------------------------

    def _side_rows(self, is_target: torch.Tensor, **side_data: Any) -> torch.Tensor | None:
        """Supervised SepCLR's ``attributes=``: the known values of each salient attribute
        over the target rows."""
        attributes = side_data.pop("attributes", None)
        super()._side_rows(is_target, **side_data)
        if self.salient_attributes is None:
            if attributes is not None:
                raise InvalidInputError("attributes= needs salient_attributes= in the model")
            return None
        return attribute_rows(list(self.salient_attributes), attributes, is_target)

    def _check_covariate_settings(self) -> None:
        if hasattr(self, "covariates_") and self.salient_attributes is not None:
            raise InvalidInputError(
                "supervised SepCLR (salient_attributes) does not take covariates: erasing them "
                "would mix its attribute dimensions; leave them out"
            )

    def _check_processes(self, shard: Shard) -> None:
        if shard.distributed and self.salient_attributes is not None:
            raise InvalidInputError("supervised SepCLR (salient_attributes) trains in one process")
        if shard.distributed and self.decoder_weight > 0:
            raise InvalidInputError(
                "SepCLR with a decoder (decoder_weight > 0) trains in one process"
            )

    def resolve_fit(self, sample_shape: tuple[int, ...]) -> FitSpec:
        """What a fit on samples of ``sample_shape`` is built from; views or a backbone for
        another kind of data are refused."""
        try:
            views = view_options(view_kind(sample_shape), self.views)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from exc
        return replace(super().resolve_fit(sample_shape), views=views)

    def _build(self, spec: FitSpec) -> TwoBranchEncoder:
        return TwoBranchEncoder(
            spec.backbone,
            spec.sample_shape,
            int(self.common_dim),
            int(self.salient_dim),
            int(self.width),
            salient_projector=bool(self.salient_projector),
            common_projector=bool(self.common_projector),
            decoder=float(self.decoder_weight) > 0,
        )

    def _build_module(self, spec: FitSpec, device: torch.device) -> TrainingModule:
        assert spec.views is not None
        encoder = self._build(spec)
        views = build_views(spec.views, spec.sample_shape)
        independence = build_independence(
            str(self.independence),
            int(self.common_dim),
            int(self.salient_dim),
            float(self.bandwidth),
        )
        parts = (encoder, views, independence, self._objective_settings())
        options: dict[str, Any] = {
            "salient_mix": self._mix(),
            "decoder_weight": float(self.decoder_weight),
            "decoder_noise": float(self.decoder_noise),
            "view_passes": resolve_view_passes(str(self.view_passes), device, spec.backbone),
        }
        if self.salient_attributes is None:
            return SepCLRModule(*parts, **options)
        kinds = tuple(self.salient_attributes.values())
        return SupervisedSepCLRModule(*parts, kinds=kinds, **options)

    def _keep_trained(
        self, spec: FitSpec, module: TrainingModule, data: TrainingData, device: torch.device
    ) -> None:
        assert spec.views is not None
        self.view_options_ = options_as_dict(spec.views)
        encoder = module.network
        assert isinstance(encoder, TwoBranchEncoder)
        set_memory_format(encoder.cpu(), channels_last=False)
        self.encoder_ = encoder
        self.residuals_ = {}
        if self.residual_mode != "none":
            inputs, is_target = data.inputs, data.is_target
            target = self._encode_raw(inputs[is_target], device)
            background = self._encode_raw(inputs[~is_target], device)
            self.residuals_ = fit_residuals(target, background, self.residual_mode)

    # --- using a fitted model --------------------------------------------------------------

    def _encode_raw(self, inputs: torch.Tensor, device: torch.device) -> EncodedBatch:
        """The encoder's outputs for stored rows, without the correction."""
        out = encode(self.encoder_.to(device), inputs, device, to_model_input=self.standardiser_)
        self.encoder_.cpu()
        return out

    def encode(self, x: Any) -> EncodedBatch:
        """All four outputs of the encoder, after the correction (if the model has one).

        Parameters
        ----------
        x : array-like, shape (n, ...)
            Samples of the shape the model was fitted on.

        Returns
        -------
        EncodedBatch
            The common and salient representations (what :meth:`transform` returns) and
            the two projector heads the loss sees, as tensors.
        """
        self._check_fitted()
        inputs = as_sample_tensor(x, "x")
        self._check_sample_shape(inputs)
        out = self._encode_raw(inputs, resolve_device(str(self.device)))
        return apply_residuals(out, self.residuals_)

    def _transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        out = self.encode(x)
        return out.common_rep.numpy(), out.salient_rep.numpy()

    def _raw_code_function(self, device: torch.device) -> CodeFunction:
        encoder = self.encoder_.to(device).eval()
        residuals = {k: (c.to(device), o.to(device)) for k, (c, o) in self.residuals_.items()}

        def codes(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            out = apply_residuals(encoder(self.standardiser_(x)), residuals)
            return out.common_rep, out.salient_rep

        return codes

    @property
    def reconstructs(self) -> bool:
        """Whether this fitted model has the explaining-away decoder."""
        return isinstance(getattr(getattr(self, "encoder_", None), "decoder", None), nn.Module)

    def reconstruct(self, x: Any, salient: bool = True) -> np.ndarray:
        """Inputs rebuilt by the explaining-away decoder (models fitted with
        ``decoder_weight > 0``).

        Parameters
        ----------
        x : array-like, shape (n, ...)
            Samples of the shape the model was fitted on.
        salient : bool
            Decode with the salient code; False decodes with it at ``s' = 0``, a
            counterfactual of each target without its salient pattern.

        Returns
        -------
        ndarray of float32
            The rebuilt samples, in the layout of ``x``.
        """
        self._check_fitted()
        decoder = self.encoder_.decoder
        if decoder is None:
            raise InvalidInputError(
                "this SepCLR has no decoder; fit it with decoder_weight > 0 to reconstruct"
            )
        inputs = as_sample_tensor(x, "x")
        self._check_sample_shape(inputs)
        out = self._encode_raw(inputs, torch.device("cpu"))
        codes = out.salient_rep if salient else torch.zeros_like(out.salient_rep)
        with torch.no_grad():
            decoded = decoder(torch.cat([out.common_rep, codes], dim=1))
        return self.standardiser_.invert(decoded).numpy()

    # --- persistence (see ContrastiveEstimator.save / load) --------------------------------

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        tensors = super()._state_tensors()
        for name, (coef, offset) in self.residuals_.items():
            tensors[f"residual.{name}.coef"], tensors[f"residual.{name}.offset"] = coef, offset
        return tensors

    def fit_summary(self) -> dict[str, Any]:
        """What is saved with the model beside its tensors."""
        return {"view_options": self.view_options_, **super().fit_summary()}

    def _set_fitted(self, fitted: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        super()._set_fitted(fitted, tensors)
        self.view_options_ = fitted["view_options"]
        encoder = self._build(self.resolve_fit(self.sample_shape_))
        encoder.load_state_dict(prefixed("encoder", tensors), strict=True)
        self.encoder_ = encoder
        names = {"none": (), "salient": ("salient",), "both": ("salient", "common")}
        self.residuals_ = {
            name: (tensors[f"residual.{name}.coef"], tensors[f"residual.{name}.offset"])
            for name in names[self.residual_mode]
        }
