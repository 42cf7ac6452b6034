"""Feature attributions of a fitted model: how much each input feature (gene, protein,
pixel, voxel) moves a target of the codes, the salient score by default, away from its
value at a baseline.

The baseline is the mean of the backgrounds the model was fitted on, so an attribution
reads as "what changes from a typical control to this sample". The attributions come from
captum (Kokhlikyan et al. 2020) on :meth:`~sepclr.methods.base.ContrastiveEstimator.code_function`:

- ``"integrated-gradients"`` (Sundararajan et al., ICML 2017): the gradient averaged along
  the straight path from the baseline to the input, times ``input - baseline``. The
  attributions of a sample sum to its target's change from the baseline (completeness, up
  to the quadrature over ``steps`` points); for a linear model such as cPCA they are exactly
  ``loading * (input - baseline)``.
- ``"gradient-x-input"``: the gradient at the input times ``input - baseline``; one
  backward pass, exact only for a linear target.
- ``"occlusion"`` (Zeiler & Fergus, ECCV 2014): the target's drop when a window of the
  input (one feature of a table, a patch of an image or volume) is set to the baseline.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from sepclr.errors import InvalidInputError
from sepclr.methods.base import CodeFunction, ContrastiveEstimator
from sepclr.methods.validation import as_float_tensor

METHODS = ("integrated-gradients", "gradient-x-input", "occlusion")
SCORES = {"salient_score": "salient", "common_norm": "common"}
# model-input values per forward pass: bounds the memory of the interpolated batches
_VALUES_PER_PASS = 2**20


@dataclass(frozen=True)
class Attributions:
    """What :func:`explain` returns.

    Parameters
    ----------
    values : ndarray of float32, shape (n, ...)
        One attribution per sample and input feature, in the input's shape.
    scores : ndarray of float64, shape (n,)
        The target at each sample.
    baseline_scores : ndarray of float64, shape (n,)
        The target at each sample's baseline.
    baseline : ndarray of float32, shape (...) or (n, ...)
        The baseline: one sample, or one per row.
    target : str
        What was explained (``"salient_score"``, ``"common_norm"``, ``"salient:K"``,
        ``"common:K"``).
    method : str
        How (one of :data:`METHODS`).
    feature_names : list of str, optional
        The features' names, for tables and cells.
    """

    values: np.ndarray
    scores: np.ndarray
    baseline_scores: np.ndarray
    baseline: np.ndarray
    target: str
    method: str
    feature_names: list[str] | None = None

    @property
    def mean(self) -> np.ndarray:
        """The mean attribution over the samples, in the input's shape (a mean map)."""
        mean: np.ndarray = self.values.mean(axis=0, dtype=np.float64)
        return mean

    @property
    def mean_abs(self) -> np.ndarray:
        """The mean absolute attribution over the samples, in the input's shape."""
        mean_abs: np.ndarray = np.abs(self.values).mean(axis=0, dtype=np.float64)
        return mean_abs

    @property
    def completeness_gap(self) -> np.ndarray:
        """Per sample, the attributions' sum minus the target's change from the baseline
        (about 0 for integrated gradients).

        Returns
        -------
        ndarray of float64, shape (n,)
            The gaps.
        """
        total = self.values.reshape(len(self.values), -1).sum(axis=1, dtype=np.float64)
        gap: np.ndarray = total - (self.scores - self.baseline_scores)
        return gap

    def ranking(self) -> Any:
        """The features of a table, most important first.

        Returns
        -------
        DataFrame
            Columns ``feature``, ``mean_abs_attribution`` and ``mean_attribution``, sorted
            by the first (ties keep the input's order).

        Raises
        ------
        InvalidInputError
            For images and volumes, whose attributions are maps (:attr:`mean`).
        """
        if self.values.ndim != 2:
            raise InvalidInputError(
                "a feature ranking is for tables and cells; the attributions of images and "
                "volumes are maps (Attributions.mean, Attributions.mean_abs)"
            )
        import pandas

        names = self.feature_names or [str(k) for k in range(self.values.shape[1])]
        frame = pandas.DataFrame(
            {
                "feature": names,
                "mean_abs_attribution": self.mean_abs,
                "mean_attribution": self.mean,
            }
        )
        order = np.argsort(-frame["mean_abs_attribution"].to_numpy(), kind="stable")
        return frame.iloc[order].reset_index(drop=True)


def explain(
    model: ContrastiveEstimator,
    inputs: Any,
    *,
    target: str = "salient_score",
    method: str = "integrated-gradients",
    background: Any = None,
    baseline: Any = None,
    steps: int = 32,
    window: int | None = None,
    layer: str | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    progress: bool = False,
) -> Attributions:
    """Attribute a target of the codes of ``inputs`` to their input features.

    Parameters
    ----------
    model : ContrastiveEstimator
        A fitted model of any method.
    inputs : array-like, DataFrame or AnnData, shape (n, ...)
        The samples to explain (the targets, usually), as :meth:`transform` takes them.
    target : str
        ``"salient_score"`` (the salient code's distance to ``s' = 0``), ``"common_norm"``
        (the common code's norm), or one dimension, ``"salient:K"`` or ``"common:K"``.
    method : {"integrated-gradients", "gradient-x-input", "occlusion"}
        How (see the module's description).
    background : array-like, DataFrame or AnnData, optional
        Background samples whose mean is the baseline; by default the mean of those the
        model was fitted on.
    baseline : array-like, optional
        The baseline itself instead: one sample of the input's shape, or one per row.
    steps : int
        Points of the integral of integrated gradients.
    window : int, optional
        Occlusion's window edge in pixels or voxels (default an eighth of the smallest
        edge); a table's features are occluded one at a time.
    layer : str, optional
        For AnnData, the layer that holds the expression.
    batch_size : int
        Samples attributed together; bounds the memory with ``steps``.
    device : str
        Where the model runs.
    progress : bool
        Show a progress bar over the batches.

    Returns
    -------
    Attributions
        Per sample and feature, with their summaries.

    Raises
    ------
    InvalidInputError
        For an unknown target or method, a baseline of the wrong shape, or a model without
        a saved background mean and no ``background`` or ``baseline``.

    Examples
    --------
    >>> import numpy as np, sepclr
    >>> rng = np.random.default_rng(0)
    >>> background = rng.normal(size=(200, 6))
    >>> target = rng.normal(size=(200, 6))
    >>> target[:, 2] += rng.choice([-3, 3], size=200)  # a pattern only the targets have
    >>> model = sepclr.CPCA(2, 1, alpha=1.0, standardize=False).fit(background, target)
    >>> found = sepclr.explain(model, target)
    >>> found.ranking()["feature"][0]
    '2'
    """
    if method not in METHODS:
        raise InvalidInputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    x = model.model_input(inputs, layer=layer, name="inputs")
    base = _baseline(model, x, background, baseline, layer)
    names = getattr(model, "feature_names_in_", None)
    codes = model.code_function(device)
    try:
        scalar = _target_function(codes, target, base[:1].to(device))
        chunks = _attributed_chunks(scalar, x, base, method, steps, window, batch_size, device)
        parts = list(tqdm(chunks, total=-(-len(x) // batch_size), disable=not progress))
    finally:
        model.release()
    values, scores, baseline_scores = (np.concatenate(p) for p in zip(*parts, strict=True))
    return Attributions(
        values=values,
        scores=scores,
        baseline_scores=baseline_scores,
        baseline=(base[0] if len(base) == 1 else base).numpy(),
        target=target,
        method=method,
        feature_names=None if names is None or x.ndim != 2 else [str(n) for n in names],
    )


def _baseline(
    model: ContrastiveEstimator, x: torch.Tensor, background: Any, baseline: Any, layer: str | None
) -> torch.Tensor:
    """The baseline as (1, ...) or (n, ...) float32: given, the mean of ``background``, or
    the mean of the backgrounds the model was fitted on."""
    if baseline is not None and background is not None:
        raise InvalidInputError("give background= or baseline=, not both")
    if baseline is not None:
        given = as_float_tensor(np.asarray(baseline, dtype=np.float32)[None], "baseline")[0]
        if tuple(given.shape) == tuple(x.shape[1:]):
            return given[None]
        if tuple(given.shape) == tuple(x.shape):
            return given
        raise InvalidInputError(
            f"baseline has shape {tuple(given.shape)}; give one sample of shape "
            f"{tuple(x.shape[1:])}, or one per input row, {tuple(x.shape)}"
        )
    if background is not None:
        rows = model.model_input(background, layer=layer, name="background")
        return rows.double().mean(dim=0, keepdim=True).float()
    mean = getattr(model, "background_mean_", None)
    if mean is None:
        raise InvalidInputError(
            "this model was saved without its backgrounds' mean; give background= (control "
            "samples, whose mean is the baseline) or baseline="
        )
    return torch.from_numpy(mean)[None]


def parse_target(target: str, sizes: dict[str, int]) -> tuple[str, int | None]:
    """The code and dimension a target names (``None``: the code's norm)."""
    if target in SCORES:
        return SCORES[target], None
    space, _, index = str(target).partition(":")
    if space in sizes and index.isdigit():
        if int(index) < sizes[space]:
            return space, int(index)
        raise InvalidInputError(
            f"target {target!r}: the {space} code has dimensions 0 to {sizes[space] - 1}"
        )
    raise InvalidInputError(
        f"unknown target {target!r}; choose salient_score, common_norm, salient:K or common:K"
    )


def _target_function(
    codes: CodeFunction, target: str, probe: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The target as a function of the input, one value per row (float64)."""
    with torch.no_grad():
        common, salient = codes(probe)
    space, index = parse_target(target, {"common": common.shape[1], "salient": salient.shape[1]})
    position = 0 if space == "common" else 1

    def scalar(x: torch.Tensor) -> torch.Tensor:
        code = codes(x)[position].double()
        return torch.linalg.vector_norm(code, dim=1) if index is None else code[:, index]

    return scalar


def _attributed_chunks(
    scalar: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    base: torch.Tensor,
    method: str,
    steps: int,
    window: int | None,
    batch_size: int,
    device: str,
) -> Any:
    """Per chunk of rows: the attributions, the target at the rows and at their baselines."""
    for start in range(0, len(x), batch_size):
        rows = x[start : start + batch_size].to(device)
        bases = (base[start : start + batch_size] if len(base) > 1 else base).to(device)
        bases = bases.expand_as(rows).contiguous()
        values = attribute(scalar, rows, bases, method, steps, window)
        with torch.no_grad():
            at_rows, at_bases = scalar(rows), scalar(bases)
        yield values.detach().float().cpu().numpy(), at_rows.cpu().numpy(), at_bases.cpu().numpy()


def attribute(
    scalar: Callable[[torch.Tensor], torch.Tensor],
    rows: torch.Tensor,
    bases: torch.Tensor,
    method: str,
    steps: int = 32,
    window: int | None = None,
) -> torch.Tensor:
    """One batch's attributions with captum."""
    from captum.attr import InputXGradient, IntegratedGradients, Occlusion

    per_pass = max(1, _VALUES_PER_PASS // rows[0].numel())
    if method == "integrated-gradients":
        return IntegratedGradients(scalar).attribute(
            rows, baselines=bases, n_steps=steps, internal_batch_size=per_pass
        )
    if method == "gradient-x-input":
        shift = (rows - bases).requires_grad_(True)
        return InputXGradient(lambda step: scalar(bases + step)).attribute(shift)
    shape = occlusion_window(tuple(rows.shape[1:]), window)
    return Occlusion(scalar).attribute(
        rows,
        sliding_window_shapes=shape,
        strides=shape,
        baselines=bases,
        perturbations_per_eval=max(1, per_pass // len(rows)),
    )


def occlusion_window(sample_shape: tuple[int, ...], edge: int | None) -> tuple[int, ...]:
    """Occlusion's window: one feature of a table; every channel of an ``edge``-wide patch
    of an image or volume (default an eighth of the smallest edge, at least 1).
    """
    if len(sample_shape) == 1:
        return (1,)
    spatial = sample_shape[1:]
    if edge is None:
        edge = max(1, min(spatial) // 8)
    if isinstance(edge, bool) or not isinstance(edge, int) or not 1 <= edge <= min(spatial):
        raise InvalidInputError(
            f"window must be a whole number from 1 to {min(spatial)} (the smallest edge), "
            f"got {edge!r}"
        )
    return (sample_shape[0], *(edge,) * len(spatial))


def feature_loadings(
    model: ContrastiveEstimator,
    inputs: Any,
    *,
    space: str = "salient",
    layer: str | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Which features move a sample along each direction of a code: the mean over
    ``inputs`` of each code dimension's gradient, per standard deviation of each feature
    (:meth:`~sepclr.methods.base.ContrastiveEstimator.loading_scale`). For cPCA this is its
    components, whatever the inputs.

    Parameters
    ----------
    model : ContrastiveEstimator
        A fitted model of a table or of cells.
    inputs : array-like, DataFrame or AnnData, shape (n, features)
        Where the gradients are taken (the targets, usually).
    space : {"salient", "common"}
        The code.
    layer : str, optional
        For AnnData, the layer that holds the expression.
    device : str
        Where the model runs.

    Returns
    -------
    ndarray of float64, shape (features, dim)
        The loadings, one column per code dimension.
    """
    if space not in ("salient", "common"):
        raise InvalidInputError(f"unknown space {space!r}; choose salient or common")
    x = model.model_input(inputs, layer=layer, name="inputs")
    if x.ndim != 2:
        raise InvalidInputError(
            "loadings are for tables and cells; explain images and volumes with "
            "sepclr.explain, whose mean attribution is a map"
        )
    position = 0 if space == "common" else 1
    codes = model.code_function(device)
    total: torch.Tensor | None = None
    try:
        for chunk in x.split(256):
            rows = chunk.to(device).clone().requires_grad_(True)
            code = codes(rows)[position]
            grads = [
                torch.autograd.grad(code[:, k].sum(), rows, retain_graph=True)[0].double().sum(0)
                for k in range(code.shape[1])
            ]
            summed = torch.stack(grads, dim=1).cpu()
            total = summed if total is None else total + summed
    finally:
        model.release()
    assert total is not None
    loadings: np.ndarray = (total / len(x)).numpy() * model.loading_scale(space)[:, None]
    return loadings
