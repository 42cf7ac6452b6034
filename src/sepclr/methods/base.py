"""What every method shares: declared parameters, the fitted check, the template ``fit`` of
the trained methods, and save/load.

A method declares its parameters (:class:`sepclr.methods.parameters.Param`) and implements
``_fit_groups`` (or, trained by epochs, ``_build_module`` and ``_keep_trained``),
``transform(x) -> (common, salient)`` and the persistence hooks ``_state_tensors`` (what
goes into safetensors), :meth:`ContrastiveEstimator.fit_summary` (JSON-serialisable facts
about the fit) and ``_set_fitted`` (the inverse of both).
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypedDict, TypeVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from sepclr.data.cells import CellPreparation, cell_matrix, fit_preparation, is_anndata, is_counts
from sepclr.engine.checkpoint import Checkpointer, data_fingerprint
from sepclr.engine.devices import resolve_device
from sepclr.engine.distributed import process_device, resolve_batch_size
from sepclr.engine.loop import StopRequest
from sepclr.engine.performance import PRECISIONS, StepSpeed, release_free_memory
from sepclr.engine.persistence import read_model, save_model
from sepclr.engine.shard import Shard
from sepclr.engine.training import TrainingData, TrainingModule, TrainingPlan
from sepclr.errors import CheckpointError, InvalidInputError, NotFittedError
from sepclr.memory import check_fits
from sepclr.methods.codes import code_columns
from sepclr.methods.covariates import Covariates, fit_covariates
from sepclr.methods.parameters import (
    BOOLEAN,
    POSITIVE,
    SEED,
    TEXT,
    Choice,
    Integer,
    Number,
    Param,
    check_params,
    declared,
    initialiser,
    optional,
    with_parameters_section,
)
from sepclr.methods.standardiser import Standardiser
from sepclr.methods.validation import as_float_tensor, feature_names, stack_groups, to_float
from sepclr.nets.encoder import resolve_backbone
from sepclr.nets.speed import default_channels_last
from sepclr.objectives.covariates import linear_erasure
from sepclr.views import ViewOptions

Model = TypeVar("Model", bound="ContrastiveEstimator")
ERASURE = "covariate_erasure"
BACKGROUND_MEAN = "background_mean"
CodeFunction = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
Trained = TypeVar("Trained", bound="TrainedEstimator")


class ContrastiveEstimator(BaseEstimator):
    """Base class of the contrastive-analysis estimators (``SepCLR``, ``CPCA``, the VAEs).

    A subclass declares its parameters as class attributes
    (``name = Param(default, constraint, doc)``); this class gives it an ``__init__``
    taking them, checks them at ``fit`` and lists them in the class docstring.

    Parameters
    ----------
    *args, **params
        The declared parameters, in their order or by name.
    """

    sample_shape_: tuple[int, ...]
    keeps_uint8: ClassVar[bool] = False
    common_dim = Param(32, Integer(1), "Size of the common representation.")
    salient_dim = Param(32, Integer(1), "Size of the salient representation.")
    trains_by_epochs: ClassVar[bool] = False
    supports_processes: ClassVar[bool] = False

    def __init__(self, *args: Any, **params: Any) -> None:
        raise TypeError("ContrastiveEstimator is abstract; use one of its subclasses")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        params = declared(cls)
        cls.__init__ = initialiser(params)  # type: ignore[method-assign]
        if cls.__doc__ and params:
            cls.__doc__ = with_parameters_section(cls.__doc__, params)

    def validate_params(self) -> None:
        """Check every parameter against its declared constraint, then
        :meth:`_check_consistency`."""
        check_params(self, declared(type(self)))
        self._check_consistency()

    def _check_consistency(self) -> None:
        """Checks that involve several parameters (none by default)."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "sample_shape_"):
            name = type(self).__name__
            raise NotFittedError(f"this {name} is not fitted yet; call fit(background, target)")

    def _check_sample_shape(self, x: torch.Tensor, name: str = "x") -> None:
        if tuple(x.shape[1:]) != self.sample_shape_:
            raise InvalidInputError(
                f"{name} has samples of shape {tuple(x.shape[1:])}; this model was fitted on "
                f"{self.sample_shape_}"
            )

    def fit(
        self: Model,
        background: Any,
        target: Any,
        *,
        background_covariates: Any = None,
        target_covariates: Any = None,
        layer: str | None = None,
    ) -> Model:
        """Fit on the two groups.

        Parameters
        ----------
        background : array-like, DataFrame or AnnData, shape (n_background, ...)
            Samples of the background group (e.g. healthy controls). Cells as AnnData are
            prepared by the model (:mod:`sepclr.data.cells`: counts normalised and
            log-transformed, highly variable genes chosen on both groups), and so are the
            cells given to :meth:`transform`.
        target : array-like, DataFrame or AnnData, shape (n_target, ...)
            Samples of the target group (e.g. patients), of the same shape and columns.
        background_covariates, target_covariates : DataFrame or dict, optional
            Known nuisance factors of each sample (site, sex, age), one row per sample and the
            same columns in both groups (:mod:`sepclr.methods.covariates`). The method uses
            them as it can, then erases their linear trace from the salient code
            (:meth:`_fit_erasure`). ``transform`` does not need them.
        layer : str, optional
            For AnnData groups, the layer that holds the expression (``X`` when None).

        Returns
        -------
        self
            The fitted model.
        """
        inputs, is_target = self._checked_groups(background, target, layer)
        covariates = self._checked_covariates(background_covariates, target_covariates, is_target)
        self._fit_groups(inputs, is_target, covariates)
        self.sample_shape_ = tuple(inputs.shape[1:])
        self._fit_erasure(inputs, is_target, covariates)
        return self

    def fit_transform(
        self, background: Any, target: Any, **fit_options: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`fit`, then the codes of the rows it was fitted on.

        Parameters
        ----------
        background, target : array-like or DataFrame
            The two groups, as for :meth:`fit`.
        **fit_options
            Further options of :meth:`fit` (a checkpoint folder, for instance).

        Returns
        -------
        common : ndarray of float32, shape (n_background + n_target, common_dim)
            The common codes of the background rows followed by those of the target rows.
        salient : ndarray of float32, shape (n_background + n_target, salient_dim)
            Their salient codes, in the same order.
        """
        self.fit(background, target, **fit_options)
        codes = [self.transform(group) for group in (background, target)]
        return np.concatenate([codes[0][0], codes[1][0]]), np.concatenate(
            [codes[0][1], codes[1][1]]
        )

    def _checked_groups(
        self, background: Any, target: Any, layer: str | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """What every ``fit`` starts with: the parameters checked, cells prepared, the column
        names kept, and the two groups stacked (background first) with their target mask."""
        self.validate_params()
        _refuse_labels_as_target(background, target)
        background, target = self._prepared_cells(background, target, layer)
        self._remember_features(background, target)
        inputs, is_target = stack_groups(background, target, self.keeps_uint8)
        self.background_mean_ = _row_mean(inputs[: int((~is_target).sum())])
        return inputs, is_target

    def _prepared_cells(self, background: Any, target: Any, layer: str | None) -> tuple[Any, Any]:
        """AnnData groups as DataFrames of their prepared genes, with the preparation fitted
        on both groups kept as ``preparation_``; other groups unchanged (no preparation)."""
        given = [is_anndata(group) for group in (background, target)]
        self.__dict__.pop("preparation_", None)
        if not any(given):
            if layer is not None:
                raise InvalidInputError("layer= is for AnnData groups; leave it out for arrays")
            return background, target
        if not all(given):
            raise InvalidInputError("give both groups as AnnData, or neither")
        genes = [str(g) for g in background.var_names]
        if genes != [str(g) for g in target.var_names]:
            raise InvalidInputError(
                "the background and target AnnData have different genes; give both the same "
                "genes in the same order (adata[:, genes])"
            )
        matrices = [cell_matrix(group, layer) for group in (background, target)]
        preparation = fit_preparation(np.concatenate(matrices), genes, source="the cells")
        self.preparation_ = preparation
        return tuple(_gene_frame(preparation, m, genes, "the cells") for m in matrices)

    def _cells_as_input(self, x: Any, layer: str | None) -> Any:
        """An AnnData as the model's input (prepared as at fit, or read by gene name);
        anything else unchanged, but raw counts refused where the model prepares cells."""
        preparation = getattr(self, "preparation_", None)
        if is_anndata(x):
            matrix, genes = cell_matrix(x, layer), [str(g) for g in x.var_names]
            if preparation is not None:
                return _gene_frame(preparation, matrix, genes, "x")
            named = hasattr(self, "feature_names_in_")
            return _pandas().DataFrame(matrix, columns=genes) if named else matrix
        if layer is not None:
            raise InvalidInputError("layer= is for AnnData input; leave it out for arrays")
        if preparation is not None and feature_names(x) is None:
            values = np.asarray(x)
            if values.ndim == 2 and values.any() and is_counts(values):
                raise InvalidInputError(
                    "x looks like raw counts, but this model prepares cells itself: give the "
                    "AnnData (model.transform(adata)); an array is taken as prepared input"
                )
        return x

    def _checked_covariates(
        self, background: Any, target: Any, is_target: torch.Tensor
    ) -> torch.Tensor | None:
        """Check the covariates of both groups, keep what the model needs of them as
        ``covariates_`` (forget it without covariates), and return their encoding of every
        row, background first (None without covariates)."""
        n_target = int(is_target.sum())
        fitted = fit_covariates(background, target, (len(is_target) - n_target, n_target))
        self.__dict__.pop("covariates_", None)
        if fitted is None:
            return None
        covariates, encoded = fitted
        self.covariates_ = covariates
        if self.salient_dim != "auto":  # an automatic size is checked once known
            self._check_salient_room(int(self.salient_dim))
        return encoded

    def _check_salient_room(self, size: int) -> None:
        """Refuse a salient code that the erasure of the covariates would empty."""
        spanned = self.covariates_.degrees_of_freedom
        if size <= spanned:
            names = ", ".join(self.__dict__.pop("covariates_").names)
            raise InvalidInputError(
                f"the covariates span {spanned} dimension(s) "
                f"({names}), which are erased from the salient "
                f"code: salient_dim={size} would keep nothing; give salient_dim > {spanned}, "
                "or name fewer covariates"
            )

    def _fit_erasure(
        self, inputs: torch.Tensor, is_target: torch.Tensor, covariates: torch.Tensor | None
    ) -> None:
        """With covariates, the map that erases their linear trace from the salient code,
        fitted on the train targets' codes (``covariate_erasure_``, applied by
        :meth:`transform`): no linear probe then reads a covariate from the salient code of
        those rows better than a constant does."""
        self.__dict__.pop("covariate_erasure_", None)
        if covariates is None:
            return
        salient = torch.from_numpy(self._transform(inputs[is_target])[1])
        self.covariate_erasure_ = linear_erasure(salient, covariates[is_target]).numpy()

    def _erased(self, common: np.ndarray, salient: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The codes with the covariates erased from the salient one (unchanged without)."""
        erasure = getattr(self, "covariate_erasure_", None)
        return common, salient if erasure is None else (salient @ erasure).astype(np.float32)

    def code_function(self, device: str | torch.device = "cpu") -> CodeFunction:
        """The codes of :meth:`transform` as a differentiable function of the model input,
        for attributions (:func:`sepclr.explain`).

        Parameters
        ----------
        device : str or torch.device
            Where the function runs; the network is moved there (:meth:`release` moves it
            back to the CPU).

        Returns
        -------
        callable
            Takes float32 model input of shape (n, ...) (what :meth:`model_input` gives) and
            returns the common and salient codes as tensors, after the model's corrections
            and the erasure of covariates.
        """
        self._check_fitted()
        device = torch.device(device)
        codes = self._raw_code_function(device)
        erasure = getattr(self, "covariate_erasure_", None)
        if erasure is None:
            return codes
        matrix = torch.from_numpy(erasure).to(device)

        def erased(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            common, salient = codes(x)
            return common, salient @ matrix.to(salient.dtype)

        return erased

    def _raw_code_function(self, device: torch.device) -> CodeFunction:
        """The codes before the erasure of covariates, differentiable."""
        raise NotImplementedError

    def release(self) -> None:
        """Move what :meth:`code_function` put on a device back to the CPU (nothing by
        default)."""

    def model_input(self, x: Any, *, layer: str | None = None, name: str = "x") -> torch.Tensor:
        """``x`` as the float32 tensor :meth:`code_function` takes: cells prepared and columns
        checked as by :meth:`transform`, uint8 images scaled to [0, 1].
        """
        self._check_fitted()
        x = self._cells_as_input(x, layer)
        self._check_features(x)
        inputs = as_float_tensor(x, name)
        self._check_sample_shape(inputs, name)
        return inputs

    def loading_scale(self, space: str) -> np.ndarray:
        """The per-feature spread in whose units loadings are given: a loading is the
        change of a code per this much change of a feature.
        """
        raise NotImplementedError

    def _remember_features(self, background: Any, target: Any) -> None:
        """Keep the column names of DataFrame groups as ``feature_names_in_`` (the groups
        must have the same ones); forget them for other inputs."""
        names = {str(feature_names(group)) for group in (background, target)}
        if len(names) > 1:
            raise InvalidInputError(
                "background and target have different columns; give both the same ones, in "
                "the same order"
            )
        given = feature_names(background)
        if given is None:
            self.__dict__.pop("feature_names_in_", None)
        else:
            self.feature_names_in_ = np.asarray(given, dtype=object)
        self.fitted_on_frame_ = given is not None and not hasattr(self, "preparation_")

    def _check_features(self, x: Any) -> None:
        """Refuse a DataFrame whose columns are not those seen at fit, in that order, and
        input without column names where ``fit`` was given a DataFrame."""
        given, fitted = feature_names(x), getattr(self, "feature_names_in_", None)
        if given is None and fitted is not None and getattr(self, "fitted_on_frame_", False):
            raise InvalidInputError(
                f"x has no column names, but this model was fitted on a DataFrame of "
                f"{len(fitted)} named columns; give a DataFrame with those columns "
                "(model.feature_names_in_), which are then read by name"
            )
        if given is None or fitted is None or given == list(fitted):
            return
        missing = [c for c in fitted if c not in given]
        extra = [c for c in given if c not in set(fitted)]
        if missing:
            detail = f"it lacks {missing[0]!r} ({len(missing)} missing)"
        elif extra:
            detail = f"it has {extra[0]!r}, which the model was not fitted on"
        else:
            detail = "its columns are in another order"
        raise InvalidInputError(
            f"x's columns are not those this model was fitted on: {detail}; select them in "
            "the fitted order: x[model.feature_names_in_]"
        )

    def _fit_groups(
        self, inputs: torch.Tensor, is_target: torch.Tensor, covariates: torch.Tensor | None
    ) -> None:
        """Fit on the stacked rows (background first), their target mask and their encoded
        covariates."""
        raise NotImplementedError

    def transform(self, x: Any, *, layer: str | None = None, as_frame: bool = False) -> Any:
        """The common and salient codes of ``x``.

        Parameters
        ----------
        x : array-like, DataFrame or AnnData, shape (n, ...)
            Samples of the shape (and columns) the model was fitted on, of any real dtype.
            Cells as AnnData are prepared as at ``fit`` (:mod:`sepclr.data.cells`) when the
            model was fitted on cells, and read by gene name otherwise.
        layer : str, optional
            For an AnnData, the layer that holds the expression (``X`` when None).
        as_frame : bool
            Return one pandas DataFrame instead: columns ``common_0`` ..., ``salient_0`` ...
            and ``salient_score``, indexed like ``x`` (a DataFrame's index, an AnnData's
            ``obs_names``).

        Returns
        -------
        common : ndarray of float32, shape (n, common_dim)
            The common codes.
        salient : ndarray of float32, shape (n, salient_dim)
            The salient codes.

        Raises
        ------
        InvalidInputError
            For another shape or other columns, and for codes that are not finite (an input
            far outside the training data, or a damaged model).
        """
        self._check_fitted()
        given = x
        x = self._cells_as_input(x, layer)
        self._check_features(x)
        codes = finite_codes(*self._erased(*self._transform(x)))
        return codes_frame(given, *codes) if as_frame else codes

    def _transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    @property
    def reconstructs(self) -> bool:
        """Whether this fitted model has a decoder (``reconstruct(x, salient=...)``)."""
        return False

    def fit_summary(self) -> dict[str, Any]:
        """What is saved with the model beside its tensors."""
        return {}

    # --- persistence -----------------------------------------------------------------------

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _set_fitted(self, fitted: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        raise NotImplementedError

    def save(self, directory: str | Path) -> Path:
        """Save the fitted model: its tensors in safetensors, its configuration in JSON.

        Parameters
        ----------
        directory : str or Path
            The folder, created if needed; a model already there is replaced.

        Returns
        -------
        Path
            The folder written.
        """
        self._check_fitted()
        fitted = {"sample_shape": list(self.sample_shape_), **self.fit_summary()}
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names"] = list(self.feature_names_in_)
            fitted["fitted_on_frame"] = bool(getattr(self, "fitted_on_frame_", False))
        if hasattr(self, "covariates_"):
            fitted["covariates"] = self.covariates_.as_json()
        if hasattr(self, "preparation_"):
            fitted["cell_preparation"] = self.preparation_.as_json()
        config = {"params": self.get_params(), "fitted": fitted}
        tensors = self._state_tensors()
        if hasattr(self, "covariate_erasure_"):
            tensors[ERASURE] = torch.from_numpy(self.covariate_erasure_)
        if hasattr(self, "background_mean_"):
            tensors[BACKGROUND_MEAN] = torch.from_numpy(self.background_mean_)
        return save_model(directory, type(self).__name__, config, tensors)

    @classmethod
    def load(cls: type[Model], directory: str | Path) -> Model:
        """Load a model of this class written by :meth:`save`.

        Parameters
        ----------
        directory : str or Path
            The folder :meth:`save` wrote.

        Returns
        -------
        model
            The fitted model (:func:`sepclr.load` reads a model of any class).
        """
        config, tensors = read_model(directory)
        if config.get("class") != cls.__name__:
            raise CheckpointError(
                f"{directory} holds a {config.get('class')} model, not a {cls.__name__}; "
                "use sepclr.load(directory)"
            )
        return cls._restore(config, tensors, directory)

    @classmethod
    def _restore(
        cls: type[Model],
        config: dict[str, Any],
        tensors: dict[str, torch.Tensor],
        directory: str | Path,
    ) -> Model:
        try:
            model = cls(**config["params"])
            model.validate_params()
            fitted = config["fitted"]
            model.sample_shape_ = _sample_shape(fitted["sample_shape"])
            if "feature_names" in fitted:
                model.feature_names_in_ = np.asarray(
                    [str(name) for name in fitted["feature_names"]], dtype=object
                )
                model.fitted_on_frame_ = bool(fitted.get("fitted_on_frame", False))
            if "cell_preparation" in fitted:
                model.preparation_ = CellPreparation.from_json(fitted["cell_preparation"])
            if "covariates" in fitted:
                model.covariates_ = Covariates.from_json(fitted["covariates"])
                size = int(fitted.get("salient_dim", model.salient_dim))
                model.covariate_erasure_ = _erasure(tensors.pop(ERASURE, None), size)
            if BACKGROUND_MEAN in tensors:
                model.background_mean_ = _background_mean(
                    tensors.pop(BACKGROUND_MEAN), model.sample_shape_
                )
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{directory}: invalid model configuration ({exc})") from exc
        damaged = [
            k for k, v in tensors.items() if v.is_floating_point() and not v.isfinite().all()
        ]
        if damaged:
            raise CheckpointError(
                f"{directory}: {damaged[0]} holds NaN or infinite values; the model is damaged"
            )
        try:
            model._set_fitted(fitted, tensors)
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(
                f"{directory}: the saved state does not match the model in config.json ({exc})"
            ) from exc
        return model


@dataclass(frozen=True)
class FitSpec:
    """What a fit resolves once from the parameters and the samples' shape, before anything
    is built: the resolved backbone and, for methods trained on views, the views' options."""

    sample_shape: tuple[int, ...]
    backbone: str
    views: ViewOptions | None = None


class TrainingParams(TypedDict, total=False):
    """The parameters TrainedEstimator takes by name (see its class docstring)."""

    epochs: int
    batch_size: int | str
    lr: float
    lr_schedule: str
    warmup: float
    max_grad_norm: float | None
    seed: int
    device: str
    precision: str
    compile: bool
    verbose: bool


class TrainedEstimator(ContrastiveEstimator):
    """A method trained by epochs with :class:`sepclr.engine.training.TrainingPlan`.

    A subclass builds its :class:`sepclr.engine.training.TrainingModule`
    (``_build_module``) and keeps what it needs of it after training (``_keep_trained``);
    this class validates, stacks, standardises, checkpoints and runs the plan.
    """

    trains_by_epochs: ClassVar[bool] = True
    network_name: ClassVar[str] = "network"
    standardiser_: Standardiser
    history_: list[dict[str, float]]
    train_seconds_: float

    epochs = Param(30, Integer(0), "Passes over the data; 0 leaves the model untrained.")
    batch_size: Param[int | str] = Param(
        512, Integer(2), "Rows per step, both groups together (the global batch on processes)."
    )
    lr = Param(1e-3, POSITIVE, "Adam's learning rate.")
    lr_schedule = Param(
        "constant",
        Choice(("constant", "cosine")),
        '"cosine" decays the learning rate to 0 after the warm-up.',
    )
    warmup = Param(
        0.0,
        Number(0.0, 1.0, open_maximum=True),
        "The fraction of training with a linear warm-up of the learning rate.",
    )
    max_grad_norm = Param(None, optional(POSITIVE), "Clip the global gradient norm.")
    seed = Param(0, SEED, "Seeds the initialisation, the views and the batches.")
    device = Param("auto", TEXT, '``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...')
    precision = Param(
        "float32",
        Choice(tuple(PRECISIONS)),
        "Autocast for the encoders' forward pass (the loss terms stay in float32).",
    )
    compile = Param(False, BOOLEAN, "Compile the network with torch.compile.")
    verbose = Param(True, BOOLEAN, "A progress bar per epoch.")

    def fit(
        self,
        background: Any,
        target: Any,
        checkpoint_dir: str | Path | None = None,
        checkpoint_every: int = 1,
        resume: bool = False,
        *,
        background_covariates: Any = None,
        target_covariates: Any = None,
        layer: str | None = None,
        **side_data: Any,
    ) -> "TrainedEstimator":
        """Train on the two groups.

        With ``checkpoint_dir``, SIGINT and SIGTERM stop training cleanly after the current
        step, with a checkpoint (:class:`sepclr.errors.TrainingInterruptedError`).

        Parameters
        ----------
        background : array-like, DataFrame or AnnData, shape (n_background, ...)
            Samples of the background group (e.g. healthy controls); cells as AnnData are
            prepared by the model, as for :meth:`ContrastiveEstimator.fit`.
        target : array-like, DataFrame or AnnData, shape (n_target, ...)
            Samples of the target group (e.g. patients), of the same shape and columns.
        checkpoint_dir : str or Path, optional
            Where a checkpoint is written every ``checkpoint_every`` epochs and at the end.
        checkpoint_every : int
            Epochs between two checkpoints.
        resume : bool
            Continue from the checkpoint in ``checkpoint_dir`` when there is one, with the
            same result as an uninterrupted run.
        background_covariates, target_covariates : DataFrame or dict, optional
            Known nuisance factors of each sample (site, sex, age), as for
            :meth:`ContrastiveEstimator.fit`.
        layer : str, optional
            For AnnData groups, the layer that holds the expression (``X`` when None).
        **side_data
            What a method needs beside the samples (supervised SepCLR's ``attributes``).

        Returns
        -------
        self
            The trained model.
        """
        inputs, is_target = self._checked_groups(background, target, layer)
        covariates = self._checked_covariates(background_covariates, target_covariates, is_target)
        self._check_covariate_settings()
        rows = self._side_rows(is_target, **side_data)
        shard = Shard.current()
        check_processes(type(self), shard.world_size)
        self._check_processes(shard)
        device = process_device(resolve_device(str(self.device)), shard)
        spec = self.resolve_fit(tuple(inputs.shape[1:]))
        plan = self._plan(spec, len(inputs), device, shard)
        self._check_model_fits(spec, device)
        standardiser = Standardiser.fit(inputs)
        data = TrainingData(inputs, is_target, standardiser, rows, covariates)
        fingerprinted = tuple(t for t in (inputs, is_target, rows, covariates) if t is not None)
        checkpointer, resuming = self._checkpointer(
            checkpoint_dir, checkpoint_every, resume, *fingerprinted
        )
        with torch.random.fork_rng(devices=[]), StopRequest(checkpointer is not None) as stop:
            torch.manual_seed(int(self.seed))
            module = self._build_module(spec, device)
            generator = torch.Generator().manual_seed(int(self.seed))
            progress = plan.run(module, data, generator, checkpointer, resuming, stop)
        self.history_, self.train_seconds_ = progress.history, progress.seconds
        self.standardiser_ = standardiser
        self.sample_shape_ = spec.sample_shape
        self._keep_trained(spec, module, data, device)
        self._fit_erasure(inputs, is_target, covariates)
        del module, data, inputs
        release_free_memory()
        return self

    def untrained(self: "Trained") -> "Trained":
        """An unfitted copy with ``epochs=0``."""
        params = {**self.get_params(), "epochs": 0, "verbose": False}
        return type(self)(**params)

    def _plan(self, spec: FitSpec, n_rows: int, device: torch.device, shard: Shard) -> TrainingPlan:
        """The training plan of this method's parameters."""
        image = view_kind(spec.sample_shape) == "image"
        channels_last = default_channels_last(device, image, spec.backbone)
        speed = StepSpeed(str(self.precision), channels_last, bool(self.compile))
        return TrainingPlan(
            epochs=int(self.epochs),
            batch_size=resolve_batch_size(self.batch_size, n_rows, shard),
            lr=float(self.lr),
            device=device,
            lr_schedule=str(self.lr_schedule),
            warmup=float(self.warmup),
            max_grad_norm=self.max_grad_norm,
            speed=speed,
            shard=shard,
            seed=int(self.seed),
            verbose=bool(self.verbose),
            description=type(self).__name__,
        )

    def resolve_fit(self, sample_shape: tuple[int, ...]) -> FitSpec:
        """What a fit on samples of ``sample_shape`` is built from; settings that cannot take
        them (a backbone for another kind of data) are refused."""
        backbone = str(self.get_params().get("backbone", "auto"))
        return FitSpec(sample_shape, checked_backbone(backbone, sample_shape))

    def _check_model_fits(self, spec: FitSpec, device: torch.device) -> None:
        """Refuse settings whose model would not fit in ``device``'s memory for training,
        counted on a model built without memory (PyTorch's meta device)."""
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            module = self._build_module(spec, torch.device("meta"))
        count = sum(p.numel() for p in module.parameters())
        sizes = [p for p in ("common_dim", "salient_dim", "width", "hidden") if p in self.__dict__]
        check_fits(
            16.0 * count,  # float32 weights, their gradients and Adam's two moments
            f"{type(self).__name__} with these settings ({count:.3g} parameters)",
            f"lower {', '.join(sizes[:-1])} or {sizes[-1]}",
            device,
        )

    def _check_covariate_settings(self) -> None:
        """Refuse covariates that this method's settings cannot take (none by default)."""

    def _check_processes(self, shard: Shard) -> None:
        """Refuse settings that cannot train on several processes (none by default)."""

    def _side_rows(self, is_target: torch.Tensor, **side_data: Any) -> torch.Tensor | None:
        """Per-row side data for the loss from ``fit``'s extra arguments (none by default)."""
        if side_data:
            raise InvalidInputError(
                f"{type(self).__name__}.fit takes no {', '.join(sorted(side_data))}"
            )
        return None

    def _build(self, spec: FitSpec) -> nn.Module:
        """The untrained network (what is saved)."""
        raise NotImplementedError

    def _build_module(self, spec: FitSpec, device: torch.device) -> TrainingModule:
        raise NotImplementedError

    def _keep_trained(
        self, spec: FitSpec, module: TrainingModule, data: TrainingData, device: torch.device
    ) -> None:
        """Keep the trained network (on the CPU) and whatever the method fits after it."""
        raise NotImplementedError

    def _checkpointer(
        self,
        checkpoint_dir: str | Path | None,
        checkpoint_every: int,
        resume: bool,
        *data: torch.Tensor,
    ) -> tuple[Checkpointer | None, bool]:
        """The run's checkpointer (None without ``checkpoint_dir``) and whether to resume:
        ``resume=True`` continues from the checkpoint when one exists, else starts afresh.
        The checkpoint records the class, the parameters (except ``device`` and
        ``verbose``) and a fingerprint of ``data``; resuming with others is refused."""
        if checkpoint_dir is None:
            if resume:
                raise InvalidInputError(
                    "resume=True needs checkpoint_dir, the directory of the run to continue"
                )
            return None, False
        Integer(1).check("checkpoint_every", checkpoint_every)
        params = {k: v for k, v in self.get_params().items() if k not in ("device", "verbose")}
        identity = {"class": type(self).__name__, "params": params}
        identity["data"] = data_fingerprint(*data)
        checkpointer = Checkpointer(checkpoint_dir, identity, checkpoint_every)
        return checkpointer, bool(resume) and checkpointer.exists()

    # --- persistence -----------------------------------------------------------------------

    def _network(self) -> nn.Module:
        network: nn.Module = getattr(self, f"{self.network_name}_")
        return network

    def release(self) -> None:
        """Move the network back to the CPU after :meth:`code_function`."""
        self._network().cpu()

    def loading_scale(self, space: str) -> np.ndarray:
        """The per-feature spread in whose units loadings are given."""
        features = int(np.prod(self.sample_shape_))
        return np.broadcast_to(self.standardiser_.scale.double().numpy(), (features,)).copy()

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        tensors = {f"{self.network_name}.{k}": v for k, v in self._network().state_dict().items()}
        tensors["standardiser.mean"] = self.standardiser_.mean
        tensors["standardiser.scale"] = self.standardiser_.scale
        return tensors

    def fit_summary(self) -> dict[str, Any]:
        """What is saved with the model beside its tensors."""
        return {"history": self.history_, "train_seconds": self.train_seconds_}

    def _set_fitted(self, fitted: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        self._check_saved_shapes(prefixed(self.network_name, tensors))
        self.history_ = fitted["history"]
        self.train_seconds_ = float(fitted.get("train_seconds", 0.0))
        self.standardiser_ = Standardiser(
            tensors["standardiser.mean"], tensors["standardiser.scale"]
        )
        self.standardiser_.check(self.sample_shape_)

    def _check_saved_shapes(self, saved: dict[str, torch.Tensor]) -> None:
        """Raise ``ValueError`` naming the first tensor the network of these parameters
        does not have, or has in another shape; checked on a model built without memory."""
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            expected = self._build(self.resolve_fit(self.sample_shape_)).state_dict()
        for name in sorted(set(expected) | set(saved)):
            if name not in saved or name not in expected:
                where = "the weights lack" if name not in saved else "the model has no"
                raise ValueError(f"{where} tensor {self.network_name}.{name}")
            if expected[name].shape != saved[name].shape:
                raise ValueError(
                    f"{self.network_name}.{name} is {tuple(saved[name].shape)} in the weights "
                    f"but {tuple(expected[name].shape)} in the model of config.json"
                )


def _refuse_labels_as_target(background: Any, target: Any) -> None:
    """Refuse ``fit(X, y)``: a 1-D target of one label per row of a 2-D background."""
    shape = getattr(target, "shape", None) or np.shape(target)
    rows = getattr(background, "shape", None) or np.shape(background)
    if len(shape) == 1 and len(rows) == 2 and shape[0] == rows[0]:
        raise InvalidInputError(
            "fit takes two groups of samples, fit(background, target); for fit(X, y) with y "
            "marking the target rows, use sepclr.ContrastiveTransformer(model).fit(X, y)"
        )


def codes_frame(x: Any, common: np.ndarray, salient: np.ndarray) -> Any:
    """The codes of ``x`` as one DataFrame, indexed like ``x``."""
    index = x.obs_names if is_anndata(x) else getattr(x, "index", None)
    return _pandas().DataFrame(code_columns(common, salient), index=index)


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise InvalidInputError("as_frame=True needs pandas: pip install pandas") from exc
    return pandas


def _gene_frame(preparation: CellPreparation, x: np.ndarray, genes: list[str], source: str) -> Any:
    """The prepared cells as a DataFrame of the chosen genes."""
    return _pandas().DataFrame(preparation.apply(x, genes, source), columns=preparation.selected)


def _erasure(tensor: torch.Tensor | None, salient_dim: int) -> np.ndarray:
    """A saved erasure: a (salient_dim, salient_dim) float32 matrix."""
    if tensor is None or tuple(tensor.shape) != (salient_dim, salient_dim):
        raise ValueError(f"a model with covariates needs a {salient_dim}x{salient_dim} {ERASURE}")
    return tensor.float().numpy()


def _background_mean(tensor: torch.Tensor, sample_shape: tuple[int, ...]) -> np.ndarray:
    """A saved background mean: one float32 sample of the model's shape."""
    if tuple(tensor.shape) != sample_shape:
        raise ValueError(f"{BACKGROUND_MEAN} has shape {tuple(tensor.shape)}, not {sample_shape}")
    return tensor.float().numpy()


def _row_mean(rows: torch.Tensor) -> np.ndarray:
    """The mean sample of ``rows`` (uint8 images scaled to [0, 1]), summed in float64 over
    chunks so that no float copy of every row is made."""
    total = torch.zeros(rows.shape[1:], dtype=torch.float64)
    for chunk in rows.split(4096):
        total += to_float(chunk).double().sum(dim=0)
    return (total / max(len(rows), 1)).float().numpy()


def finite_codes(common: np.ndarray, salient: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The codes, refused where they are not finite."""
    for name, codes in (("common", common), ("salient", salient)):
        if not np.isfinite(codes).all():
            raise InvalidInputError(
                f"the {name} codes of x are not finite (NaN or infinite): x is far outside "
                "the range of the training data, or the model is damaged"
            )
    return common, salient


def _sample_shape(value: Any) -> tuple[int, ...]:
    """A saved sample shape: a list of positive whole numbers."""
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    ):
        raise ValueError(f"sample_shape must be a list of positive whole numbers, got {value!r}")
    return tuple(value)


def check_processes(method: type["ContrastiveEstimator"], processes: int) -> None:
    """Refuse ``processes`` > 1 for a method that trains in one process."""
    if processes > 1 and not method.supports_processes:
        raise InvalidInputError(
            f"{method.__name__} trains in one process; leave out --devices / torchrun"
        )


def checked_backbone(name: str, sample_shape: tuple[int, ...]) -> str:
    """The backbone ``name`` resolves to for samples of ``sample_shape``; a backbone that
    cannot take them is refused with :class:`InvalidInputError`.
    """
    try:
        return resolve_backbone(name, sample_shape)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc


def prefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The entries of ``tensors`` under ``prefix.``, with the prefix removed."""
    start = len(prefix) + 1
    return {k[start:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def view_kind(sample_shape: tuple[int, ...]) -> str:
    """``"tabular"``, ``"image"`` or ``"volume"`` from the shape of one sample."""
    return {1: "tabular", 3: "image"}.get(len(sample_shape), "volume")
