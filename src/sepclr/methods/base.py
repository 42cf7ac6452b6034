"""What every method shares: scikit-learn parameters, the fitted check and save/load.

A method implements ``fit(background, target)``, ``transform(x) -> (common, salient)`` and
three hooks for persistence: ``_state_tensors`` (what goes into safetensors),
``_fitted_metadata`` (JSON-serialisable facts about the fit) and ``_set_fitted`` (the
inverse of both).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from sklearn.base import BaseEstimator

from sepclr.engine.checkpoint import Checkpointer, data_fingerprint
from sepclr.engine.persistence import read_model, save_model
from sepclr.errors import CheckpointError, InvalidInputError, NotFittedError
from sepclr.methods.validation import stack_groups, to_float

Model = TypeVar("Model", bound="ContrastiveEstimator")


@dataclass(frozen=True)
class Standardiser:
    """Per-feature mean and scale of tabular inputs (identity for images)."""

    mean: torch.Tensor
    scale: torch.Tensor

    @classmethod
    def fit(cls, x: torch.Tensor) -> "Standardiser":
        if x.ndim != 2:
            return cls(torch.zeros(()), torch.ones(()))
        scale = x.std(dim=0)
        return cls(x.mean(dim=0), torch.where(scale > 1e-8, scale, torch.ones_like(scale)))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised float32 ``x`` (uint8 images are first scaled to [0, 1])."""
        x = to_float(x)
        if self.mean.ndim == 0:
            return x
        return (x - self.mean.to(x.device)) / self.scale.to(x.device)


class ContrastiveEstimator(BaseEstimator):
    """Base class of the contrastive-analysis estimators (``SepCLR``, ``CPCA``, the VAEs)."""

    sample_shape_: tuple[int, ...]

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

    def transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    @property
    def reconstructs(self) -> bool:
        """Whether this fitted model has a decoder (``reconstruct(x, salient=...)``)."""
        return False

    @staticmethod
    def _stacked(
        background: Any, target: Any, keep_uint8: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The validated background and target rows stacked (background first), and the
        boolean mask of the target rows; uint8 images stay uint8 with ``keep_uint8``."""
        return stack_groups(background, target, keep_uint8)

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
        if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int):
            raise InvalidInputError(
                f"checkpoint_every must be an integer, got {checkpoint_every!r}"
            )
        if checkpoint_every < 1:
            raise InvalidInputError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
        params = {k: v for k, v in self.get_params().items() if k not in ("device", "verbose")}
        identity = {"class": type(self).__name__, "params": params}
        identity["data"] = data_fingerprint(*data)
        checkpointer = Checkpointer(checkpoint_dir, identity, checkpoint_every)
        return checkpointer, bool(resume) and checkpointer.exists()

    # --- persistence hooks -----------------------------------------------------------------

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _fitted_metadata(self) -> dict[str, Any]:
        return {}

    def _set_fitted(self, fitted: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        raise NotImplementedError

    # --- persistence -----------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Save the fitted state (safetensors) and the configuration (JSON) into
        ``directory``."""
        self._check_fitted()
        config = {
            "params": self.get_params(),
            "fitted": {"sample_shape": list(self.sample_shape_), **self._fitted_metadata()},
        }
        return save_model(directory, type(self).__name__, config, self._state_tensors())

    @classmethod
    def load(cls: type[Model], directory: str | Path) -> Model:
        """Load a model written by :meth:`save`."""
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
            fitted = config["fitted"]
            model.sample_shape_ = tuple(int(v) for v in fitted["sample_shape"])
        except (KeyError, TypeError) as exc:
            raise CheckpointError(f"{directory}: incomplete model configuration ({exc})") from exc
        try:
            model._set_fitted(fitted, tensors)
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(
                f"{directory}: the saved state does not match the model in config.json ({exc})"
            ) from exc
        return model


def prefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The entries of ``tensors`` under ``prefix.``, with the prefix removed."""
    start = len(prefix) + 1
    return {k[start:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
