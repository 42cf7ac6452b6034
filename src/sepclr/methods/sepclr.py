"""SepCLR (Louiset, Duchesnay, Grigis, Gori; ICLR 2024) as a scikit-learn-style estimator."""

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sepclr.data.views import build_views, options_as_dict, view_options
from sepclr.engine.devices import resolve_device
from sepclr.engine.distributed import process_device, resolve_batch_size
from sepclr.engine.loop import StopRequest
from sepclr.engine.performance import (
    PRECISIONS,
    StepSpeed,
    default_channels_last,
    set_memory_format,
)
from sepclr.engine.training import encode, train_two_view
from sepclr.errors import InvalidInputError
from sepclr.methods.base import ContrastiveEstimator, Standardiser, prefixed
from sepclr.methods.validation import as_sample_tensor, check_choice, check_positive
from sepclr.nets.encoder import BACKBONES, EncodedBatch, TwoBranchEncoder, resolve_backbone
from sepclr.objectives import (
    INDEPENDENCE_TERMS,
    SepCLRWeights,
    build_independence,
    sepclr_objective,
)
from sepclr.objectives.critics import Critic
from sepclr.objectives.reconstruction import explaining_away_reconstruction
from sepclr.objectives.redundancy import REDUNDANCY_TERMS, linear_residual
from sepclr.objectives.registry import IndependencePenalty
from sepclr.objectives.shard import Shard
from sepclr.objectives.supervised import ATTRIBUTE_KINDS, supervised_sepclr_objective

RESIDUALS = ("none", "salient", "both")
# Share of the backgrounds' common variance whose principal directions count as common in
# ``residualize`` (chosen on the validation splits: benchmarks/results/salient/residual-variance).
RESIDUAL_KEPT_VARIANCE = 0.9
OBJECTIVES = ("extended", "paper")


def _supervised_loss(
    original: EncodedBatch,
    distorted: EncodedBatch,
    is_target: torch.Tensor,
    shard: Shard,
    *,
    rows: torch.Tensor,
    kinds: tuple[str, ...],
    weights: SepCLRWeights,
    **batch: Any,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    del shard, batch  # one process (checked in fit); the views are not used
    return supervised_sepclr_objective(
        (original.common_head, distorted.common_head),
        original.salient_head,
        is_target,
        rows,
        kinds,
        weights.salient,
        weights.independence,
        weights.common_bandwidth,
    )


def _loss(
    first: EncodedBatch,
    second: EncodedBatch,
    is_target: torch.Tensor,
    shard: Shard,
    *,
    views: tuple[torch.Tensor, torch.Tensor],
    weights: SepCLRWeights,
    independence: IndependencePenalty,
    decoder: nn.Module | None = None,
    decoder_weight: float = 0.0,
    decoder_noise: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    total, terms = sepclr_objective(
        (first.common_head, second.common_head),
        (first.salient_head, second.salient_head),
        is_target,
        weights,
        independence,
        shard,
        common_reps=(first.common_rep, second.common_rep),
    )
    if decoder is not None:
        terms["reconstruction"] = (
            0.5
            * torch.stack(
                [
                    explaining_away_reconstruction(
                        decoder, out.common_rep, out.salient_rep, is_target, x, decoder_noise
                    )
                    for out, x in zip((first, second), views, strict=True)
                ]
            ).sum()
        )
        total = total + decoder_weight * terms["reconstruction"]
    return total, terms


class SepCLR(ContrastiveEstimator):
    """Separate common from salient patterns with contrastive learning.

    ``fit(background, target)`` trains a common and a salient encoder; ``transform(x)``
    returns the common and salient representations (the pre-projector outputs, of sizes
    ``common_dim`` and ``salient_dim``).

    The training loss is the paper's (:func:`sepclr.objectives.sepclr_objective`, SepCLR,
    Louiset et al., ICLR 2024, Eq. 10 with k-JEM, Eq. 9) with beta_S = ``salient_weight``,
    beta_reg = ``infoless_weight`` and lambda = ``independence_weight``; the defaults
    (1 / 100 / 100, no salient projector, no flips) are those measured best on the offline
    digits-on-fashion benchmark on a CPU (``benchmarks/results/tuning.md``).

    **This project's extension** (``objective="extended"``, the default): after training,
    ``fit`` also fits a linear correction on the training rows that ``transform`` applies
    (``residualize``). With the paper's loss alone the salient space keeps the common
    factors that are easy to learn (the object class on digits-on-fashion, sex and scanner
    site on synthetic-brain): the loss constrains background salient codes only, and k-JEM
    does not change when ``s`` repeats what ``c`` holds. The correction takes out of ``s``
    what a linear function of ``c`` predicts, ``c`` restricted to the leading principal
    directions of the backgrounds' common codes (90 % of their variance), so only what varies
    among backgrounds counts as common (:func:`sepclr.objectives.redundancy.linear_residual`);
    then out of ``c`` what the corrected ``s`` predicts. ``objective="paper"`` is the
    paper's method exactly; every preset uses it. The measurements are in
    ``benchmarks/README.md``.

    Parameters
    ----------
    common_dim, salient_dim : int
        Sizes of the common and salient representations.
    backbone : str
        ``"auto"`` (an MLP for tables, a small convnet, 2-D or 3-D, for images and
        volumes), ``"mlp"``, ``"convnet"`` or ``"resnet18"``.
    objective : {"extended", "paper"}
        ``"paper"`` refuses the options below that change the paper's method
        (``residualize``, ``redundancy``, ``conditional_uniformity``,
        ``salient_background_mix``, ``decoder_weight``).
    independence : str
        Any row of the paper's Table 1 (:data:`sepclr.objectives.INDEPENDENCE_TERMS`).
        Trained critics (``tc``, ``vclub-*``, ``vl1out-*``, ``vub-*``) take one Adam step
        (lr 1e-3) per view of the previous batch before each encoder step and are not saved.
    independence_weight, salient_weight, infoless_weight : float
        lambda, beta_S and beta_reg.
    bandwidth : float
        The tau of every kernel, ``exp(-d^2 / (2 tau))``.
    epochs : int
        Passes over the data; 0 leaves the encoders at their initialisation.
    batch_size : int or "auto"
        Rows per step (both groups together; the global batch under ``torchrun``).
        ``"auto"``: 256, or an eighth of the rows when that is smaller, so that small
        datasets still get enough steps.
    lr, lr_schedule, warmup : float, {"constant", "cosine"}, float
        Adam's learning rate; ``"cosine"`` decays it to 0 after a linear warm-up over the
        fraction ``warmup`` of training.
    max_grad_norm : float or None
        Clip the encoders' global gradient norm.
    precision : {"float32", "bfloat16", "float16"}
        Autocast for the encoders' forward pass (the loss terms stay in float32).
    compile : bool
        Compile the encoders with ``torch.compile``.
    width : int
        Base width of the backbones.
    salient_projector, common_projector : bool
        Projector heads (the official code has both; without the salient one, the default,
        the salient terms act on the representation that ``transform`` returns).
    residualize : {None, "none", "salient", "both"}
        The post-hoc correction above: ``"salient"`` corrects ``s`` only, ``"both"`` also
        ``c``. None: ``"both"`` for ``objective="extended"``, ``"none"`` for the paper's
        objective and with ``salient_attributes``. The correction is saved with the model.
    redundancy : {"none", "explained-variance", "cca", "linear-hsic", "kernel-hsic"}
        A penalty, weight ``redundancy_weight``, on the dependence between the target rows'
        common and salient codes within each batch (``c`` detached; formulas in
        :mod:`sepclr.objectives.redundancy`).
    redundancy_weight : float
        Its weight.
    conditional_uniformity : bool
        Replace the s'-uniformity by a kernel estimate of minus H(s | c)
        (:func:`sepclr.objectives.infomax.conditional_salient_uniformity`).
    salient_background_mix : float or [low, high]
        Salient-branch views mixed with a random background of the batch,
        ``(1 - w) x + w b`` with ``w ~ U(low, high)``
        (:func:`sepclr.engine.training.mix_in_background`).
    decoder_weight, decoder_noise : float
        An explaining-away decoder from ``[c, s]`` to the input, backgrounds decoded with
        ``s' = 0`` (:func:`sepclr.objectives.reconstruction.explaining_away_reconstruction`),
        with Gaussian noise on the target salient codes; ``reconstruct`` then gives
        counterfactual inputs.
    salient_attributes : dict or None
        Supervised SepCLR: one salient dimension per named attribute (``"discrete"`` or
        ``"continuous"``), whose values ``fit`` takes as ``attributes``.
    views : dict or None
        Overrides of the view options (:mod:`sepclr.data.views`).
    seed : int
        Seeds the initialisation, the views and the batches.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...
    verbose : bool
        A progress bar per epoch.

    Notes
    -----
    Inputs: arrays or tensors of shape (n, features), (n, H, W), (n, C, H, W) or
    (n, C, D, H, W); images in [0, 1] (float) or [0, 255] (uint8, kept uint8 until a batch is
    built). A NaN or infinite loss stops ``fit`` with
    :class:`sepclr.errors.TrainingDivergedError` naming the term. Under ``torchrun`` (an
    initialised ``torch.distributed`` process group), ``fit`` trains on all processes
    (:mod:`sepclr.engine.distributed`); every process must call it with the same data.
    """

    def __init__(
        self,
        common_dim: int = 32,
        salient_dim: int = 32,
        backbone: str = "auto",
        objective: str = "extended",
        independence: str = "k-jem",
        independence_weight: float = 100.0,
        salient_weight: float = 1.0,
        infoless_weight: float = 100.0,
        bandwidth: float = 0.5,
        epochs: int = 30,
        batch_size: int | str = "auto",
        lr: float = 3e-4,
        lr_schedule: str = "constant",
        warmup: float = 0.0,
        max_grad_norm: float | None = None,
        precision: str = "float32",
        compile: bool = False,
        width: int = 16,
        salient_projector: bool = False,
        common_projector: bool = True,
        salient_background_mix: float | tuple[float, float] = 0.0,
        redundancy: str = "none",
        redundancy_weight: float = 0.0,
        conditional_uniformity: bool = False,
        decoder_weight: float = 0.0,
        decoder_noise: float = 0.0,
        residualize: str | None = None,
        salient_attributes: dict[str, str] | None = None,
        views: dict[str, Any] | None = None,
        seed: int = 0,
        device: str = "auto",
        verbose: bool = True,
    ) -> None:
        self.common_dim = common_dim
        self.salient_dim = salient_dim
        self.backbone = backbone
        self.objective = objective
        self.independence = independence
        self.independence_weight = independence_weight
        self.salient_weight = salient_weight
        self.infoless_weight = infoless_weight
        self.bandwidth = bandwidth
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.warmup = warmup
        self.max_grad_norm = max_grad_norm
        self.precision = precision
        self.compile = compile
        self.width = width
        self.salient_projector = salient_projector
        self.common_projector = common_projector
        self.salient_background_mix = salient_background_mix
        self.redundancy = redundancy
        self.redundancy_weight = redundancy_weight
        self.conditional_uniformity = conditional_uniformity
        self.decoder_weight = decoder_weight
        self.decoder_noise = decoder_noise
        self.residualize = residualize
        self.salient_attributes = salient_attributes
        self.views = views
        self.seed = seed
        self.device = device
        self.verbose = verbose

    # --- parameters ----------------------------------------------------------------------

    def _check_params(self) -> SepCLRWeights:
        for name in ("common_dim", "salient_dim", "width"):
            check_positive(name, getattr(self, name), integer=True)
        if self.batch_size != "auto":
            check_positive("batch_size", self.batch_size, integer=True)
        check_positive("epochs", self.epochs, allow_zero=True, integer=True)
        check_positive("seed", self.seed, allow_zero=True, integer=True)
        if self.batch_size != "auto" and int(self.batch_size) < 2:
            raise InvalidInputError(f"batch_size must be at least 2, got {self.batch_size}")
        check_positive("lr", self.lr)
        if self.max_grad_norm is not None:
            check_positive("max_grad_norm", self.max_grad_norm)
        check_positive("bandwidth", self.bandwidth)
        low, high = self._mix_range()
        if not 0 <= low <= high < 1:
            raise InvalidInputError(
                "salient_background_mix must be a weight in [0, 1) or a range [low, high] of "
                f"such weights, got {self.salient_background_mix!r}"
            )
        for name in (
            "independence_weight",
            "salient_weight",
            "infoless_weight",
            "redundancy_weight",
            "decoder_weight",
            "decoder_noise",
        ):
            check_positive(name, getattr(self, name), allow_zero=True)
        check_choice("independence", self.independence, INDEPENDENCE_TERMS)
        check_choice("redundancy", self.redundancy, REDUNDANCY_TERMS)
        check_choice("objective", self.objective, OBJECTIVES)
        if self.residualize is not None:
            check_choice("residualize", self.residualize, RESIDUALS)
        self._check_paper_objective()
        if not isinstance(self.conditional_uniformity, bool):
            raise InvalidInputError(
                f"conditional_uniformity must be True or False, got {self.conditional_uniformity!r}"
            )
        check_choice("backbone", self.backbone, BACKBONES)
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("lr_schedule", self.lr_schedule, ("constant", "cosine"))
        check_positive("warmup", self.warmup, allow_zero=True)
        if self.warmup >= 1:
            raise InvalidInputError(f"warmup is a fraction of training below 1, got {self.warmup}")
        if self.salient_attributes is not None:
            if not isinstance(self.salient_attributes, dict) or not self.salient_attributes:
                raise InvalidInputError(
                    "salient_attributes must be a dict of attribute name -> 'discrete' or "
                    f"'continuous', got {self.salient_attributes!r}"
                )
            for name, kind in self.salient_attributes.items():
                check_choice(f"kind of attribute {name!r}", kind, ATTRIBUTE_KINDS)
            if self.salient_dim != len(self.salient_attributes):
                raise InvalidInputError(
                    f"salient_attributes names {len(self.salient_attributes)} attributes, one "
                    f"salient dimension each, but salient_dim={self.salient_dim}"
                )
        if not isinstance(self.compile, bool):
            raise InvalidInputError(f"compile must be True or False, got {self.compile!r}")
        if self.views is not None and not isinstance(self.views, dict):
            raise InvalidInputError(f"views must be None or a dict of options, got {self.views!r}")
        return SepCLRWeights(
            salient=float(self.salient_weight),
            infoless=float(self.infoless_weight),
            independence=float(self.independence_weight),
            common_bandwidth=float(self.bandwidth),
            salient_bandwidth=float(self.bandwidth),
            independence_bandwidth=float(self.bandwidth),
            redundancy=str(self.redundancy),
            redundancy_weight=float(self.redundancy_weight),
            conditional_uniformity=bool(self.conditional_uniformity),
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

    def _check_paper_objective(self) -> None:
        """``objective="paper"`` is the official loss: refuse this project's extensions."""
        if self.objective != "paper":
            return
        extensions = {
            "residualize": self.residual_mode != "none",
            "redundancy": self.redundancy != "none" and self.redundancy_weight > 0,
            "conditional_uniformity": self.conditional_uniformity,
            "decoder_weight": self.decoder_weight > 0,
            "salient_background_mix": self._mix_range()[1] > 0,
        }
        used = [name for name, on in extensions.items() if on]
        if used:
            raise InvalidInputError(
                f"objective='paper' is the paper's loss without this project's extensions, "
                f"but {', '.join(used)} asks for one; leave it at its default or use "
                "objective='extended'"
            )

    def _mix_range(self) -> tuple[float, float]:
        """``salient_background_mix`` as a (low, high) range of mixing weights."""
        mix = self.salient_background_mix
        try:
            if isinstance(mix, list | tuple):
                low, high = (float(v) for v in mix)
                return low, high
            return 0.0, float(mix)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"salient_background_mix must be a number or a [low, high] pair, got {mix!r}"
            ) from exc

    # --- fitting ---------------------------------------------------------------------------

    def _build(self, sample_shape: tuple[int, ...]) -> TwoBranchEncoder:
        try:
            resolve_backbone(self.backbone, sample_shape)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from exc
        return TwoBranchEncoder(
            self.backbone,
            sample_shape,
            self.common_dim,
            self.salient_dim,
            self.width,
            salient_projector=bool(self.salient_projector),
            common_projector=bool(self.common_projector),
            decoder=float(self.decoder_weight) > 0,
        )

    def fit(
        self,
        background: Any,
        target: Any,
        checkpoint_dir: str | Path | None = None,
        checkpoint_every: int = 1,
        resume: bool = False,
        attributes: dict[str, Any] | None = None,
    ) -> "SepCLR":
        """Train on ``background`` (e.g. healthy controls) and ``target`` (e.g. patients)
        samples of the same shape. Returns ``self``.

        With ``salient_attributes`` set, ``attributes`` maps each of those names to its
        values over the target rows, and salient dimension ``k`` learns attribute ``k``
        (supervised SepCLR, :mod:`sepclr.objectives.supervised`).

        With ``checkpoint_dir``, a checkpoint is written there every ``checkpoint_every``
        epochs and at the end, and SIGINT/SIGTERM stop training cleanly after the current
        step with a checkpoint (:class:`sepclr.errors.TrainingInterruptedError`);
        ``resume=True`` continues from that checkpoint when it exists, with the same
        result as an uninterrupted run.
        """
        weights = self._check_params()
        inputs, is_target = self._stacked(background, target, keep_uint8=True)
        row_data = self._attribute_rows(attributes, is_target)
        sample_shape = tuple(inputs.shape[1:])
        kind = {1: "tabular", 3: "image"}.get(len(sample_shape), "volume")
        try:
            options = view_options(kind, self.views)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from exc
        shard = Shard.current()
        if shard.distributed and row_data is not None:
            raise InvalidInputError("supervised SepCLR (salient_attributes) trains in one process")
        if shard.distributed and self.decoder_weight > 0:
            raise InvalidInputError(
                "SepCLR with a decoder (decoder_weight > 0) trains in one process"
            )
        device = process_device(resolve_device(self.device), shard)
        speed = StepSpeed(
            str(self.precision), default_channels_last(device, kind == "image"), self.compile
        )

        standardiser = Standardiser.fit(inputs)
        known = () if row_data is None else (row_data,)
        checkpointer, resuming = self._checkpointer(
            checkpoint_dir, checkpoint_every, resume, inputs, is_target, *known
        )
        with torch.random.fork_rng(devices=[]), StopRequest(checkpointer is not None) as stop:
            torch.manual_seed(self.seed)
            encoder = self._build(sample_shape)
            views = build_views(options, sample_shape).to(device)
            independence = build_independence(
                self.independence, self.common_dim, self.salient_dim, float(self.bandwidth)
            )
            critic = independence if isinstance(independence, Critic) else None
            if critic is not None:
                critic.to(device).train()
            generator = torch.Generator().manual_seed(self.seed)
            loss = partial(
                _loss,
                weights=weights,
                independence=independence,
                decoder=encoder.decoder,
                decoder_weight=float(self.decoder_weight),
                decoder_noise=float(self.decoder_noise),
            )
            if row_data is not None:
                kinds = tuple(dict(self.salient_attributes or {}).values())
                loss = partial(_supervised_loss, kinds=kinds, weights=weights)
            history = train_two_view(
                encoder,
                views,
                inputs,
                is_target,
                loss,
                epochs=self.epochs,
                batch_size=resolve_batch_size(self.batch_size, len(inputs), shard),
                lr=self.lr,
                lr_schedule=str(self.lr_schedule),
                warmup=float(self.warmup),
                device=device,
                generator=generator,
                verbose=self.verbose,
                description="SepCLR",
                salient_background_mix=self._mix_range(),
                critic=critic,
                max_grad_norm=self.max_grad_norm,
                checkpointer=checkpointer,
                resume=resuming,
                stop=stop,
                prepare=standardiser,
                speed=speed,
                shard=shard,
                seed=int(self.seed),
                original_first=row_data is not None,
                row_data=row_data,
            )
        self.encoder_ = set_memory_format(encoder.cpu(), channels_last=False)
        self.standardiser_ = standardiser
        self.residuals_ = self._fit_residuals(inputs, is_target, device)
        self.sample_shape_ = sample_shape
        self.view_options_ = options_as_dict(options)
        self.history_ = history
        return self

    def _attribute_rows(
        self, attributes: dict[str, Any] | None, is_target: torch.Tensor
    ) -> torch.Tensor | None:
        """The known attributes as an (n_rows, K) float tensor (0 on background rows), in
        the order of ``salient_attributes``; None without supervision."""
        if self.salient_attributes is None:
            if attributes is not None:
                raise InvalidInputError("attributes= needs salient_attributes= in the model")
            return None
        names = list(self.salient_attributes)
        if attributes is None or sorted(attributes) != sorted(names):
            given = None if attributes is None else sorted(attributes)
            raise InvalidInputError(f"fit needs attributes= with {sorted(names)}, got {given}")
        n_target = int(is_target.sum())
        rows = torch.zeros(len(is_target), len(names))
        for k, name in enumerate(names):
            values = torch.as_tensor(np.asarray(attributes[name], dtype=np.float32))
            if values.shape != (n_target,) or not torch.isfinite(values).all():
                raise InvalidInputError(
                    f"attribute {name!r} needs {n_target} finite values, one per target row, "
                    f"got shape {tuple(values.shape)}"
                )
            rows[is_target, k] = values
        return rows

    # --- using a fitted model --------------------------------------------------------------

    def encode(self, x: Any) -> EncodedBatch:
        """All four encoder outputs (common/salient representation and projector head)."""
        self._check_fitted()
        inputs = as_sample_tensor(x, "x")
        self._check_sample_shape(inputs)
        device = resolve_device(self.device)
        out = encode(self.encoder_.to(device), inputs, device, prepare=self.standardiser_)
        self.encoder_.cpu()
        return self._residualized(out)

    def _fit_residuals(
        self,
        inputs: torch.Tensor,
        is_target: torch.Tensor,
        device: torch.device,
        kept_variance: float = RESIDUAL_KEPT_VARIANCE,
    ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """The linear corrections of ``residualize`` (coefficients and offset of
        :func:`sepclr.objectives.redundancy.linear_residual`), fitted on the training rows."""
        mode = self.residual_mode
        if mode == "none":
            return {}
        model = self.encoder_.to(device)
        target = encode(model, inputs[is_target], device, prepare=self.standardiser_)
        background = encode(model, inputs[~is_target], device, prepare=self.standardiser_)
        self.encoder_.cpu()
        residuals = {
            "salient": linear_residual(
                target.common_rep, target.salient_rep, background.common_rep, kept_variance
            )
        }
        if mode == "both":
            fitted = {"salient": residuals["salient"]}
            target_s = self._residualized(target, fitted).salient_rep
            background_s = self._residualized(background, fitted).salient_rep
            residuals["common"] = linear_residual(
                target_s, target.common_rep, background_s, kept_variance=1.0
            )
        return residuals

    def _residualized(
        self,
        out: EncodedBatch,
        residuals: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
    ) -> EncodedBatch:
        """``out`` with the salient representation minus its prediction from the common one
        and, for ``residualize="both"``, the common representation minus its prediction from
        that residual salient one."""
        residuals = self.residuals_ if residuals is None else residuals
        if "salient" in residuals:
            coef, offset = residuals["salient"]
            out = out._replace(salient_rep=out.salient_rep - (out.common_rep - offset) @ coef)
        if "common" in residuals:
            coef, offset = residuals["common"]
            out = out._replace(common_rep=out.common_rep - (out.salient_rep - offset) @ coef)
        return out

    def transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Common (n, common_dim) and salient (n, salient_dim) representations, float32."""
        out = self.encode(x)
        return out.common_rep.numpy(), out.salient_rep.numpy()

    @property
    def reconstructs(self) -> bool:
        return isinstance(getattr(getattr(self, "encoder_", None), "decoder", None), nn.Module)

    def reconstruct(self, x: Any, salient: bool = True) -> np.ndarray:
        """Inputs rebuilt by the explaining-away decoder (models fitted with
        ``decoder_weight > 0``), in the input's layout; ``salient=False`` decodes with the
        salient code at ``s' = 0``: a counterfactual of each target without its salient
        pattern."""
        self._check_fitted()
        decoder = getattr(self.encoder_, "decoder", None)
        if not isinstance(decoder, nn.Module):
            raise InvalidInputError(
                "this SepCLR has no decoder; fit it with decoder_weight > 0 to reconstruct"
            )
        inputs = as_sample_tensor(x, "x")
        self._check_sample_shape(inputs)
        device = resolve_device(self.device)
        out = encode(self.encoder_.to(device), inputs, device, prepare=self.standardiser_)
        codes = out.salient_rep if salient else torch.zeros_like(out.salient_rep)
        with torch.no_grad():
            decoded = decoder(torch.cat([out.common_rep, codes], dim=1).to(device)).cpu()
        self.encoder_.cpu()
        scale, mean = self.standardiser_.scale, self.standardiser_.mean
        return (decoded * scale + mean).numpy()

    # --- persistence (see ContrastiveEstimator.save / load) --------------------------------

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        tensors = {f"encoder.{k}": v for k, v in self.encoder_.state_dict().items()}
        tensors["standardiser.mean"] = self.standardiser_.mean
        tensors["standardiser.scale"] = self.standardiser_.scale
        for name, (coef, offset) in self.residuals_.items():
            tensors[f"residual.{name}.coef"], tensors[f"residual.{name}.offset"] = coef, offset
        return tensors

    def _fitted_metadata(self) -> dict[str, Any]:
        return {"view_options": self.view_options_, "history": self.history_}

    def _set_fitted(self, fitted: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        self.view_options_ = fitted["view_options"]
        self.history_ = fitted["history"]
        encoder = self._build(self.sample_shape_)
        encoder.load_state_dict(prefixed("encoder", tensors), strict=True)
        self.standardiser_ = Standardiser(
            tensors["standardiser.mean"], tensors["standardiser.scale"]
        )
        self.encoder_ = encoder
        names = {"none": (), "salient": ("salient",), "both": ("salient", "common")}
        self.residuals_ = {
            name: (tensors[f"residual.{name}.coef"], tensors[f"residual.{name}.offset"])
            for name in names[self.residual_mode]
        }
