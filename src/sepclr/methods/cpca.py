"""Contrastive PCA (Abid, Zhang, Bagaria, Zou; Nature Communications 2018) with the same
contract as SepCLR."""

from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import numpy as np
import torch
from sklearn.cluster import SpectralClustering
from sklearn.decomposition import PCA

from sepclr.errors import InvalidInputError
from sepclr.methods.base import CodeFunction, ContrastiveEstimator, codes_frame, finite_codes
from sepclr.methods.parameters import (
    BOOLEAN,
    NON_NEGATIVE,
    POSITIVE,
    SEED,
    Either,
    Exactly,
    Integer,
    Param,
)
from sepclr.methods.validation import as_float_tensor
from sepclr.registry import register_method


def _centre_and_scale(x: np.ndarray, standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and scale; the scale is 1 where the feature is constant (the
    original divides by 0 and then replaces the NaN by 0, which projects the same)."""
    mean = x.mean(axis=0)
    if not standardize:
        return mean, np.ones_like(mean)
    scale = x.std(axis=0)
    return mean, np.where(scale > 0, scale, 1.0)


def contrastive_directions(
    target_cov: np.ndarray, background_cov: np.ndarray, alpha: float, k: int
) -> np.ndarray:
    """The ``k`` leading eigenvectors (columns, largest eigenvalue first) of
    ``C_target - alpha C_background`` (Abid et al. 2018, Algorithm 1).
    """
    eigenvalues, eigenvectors = np.linalg.eigh(target_cov - alpha * background_cov)
    return eigenvectors[:, np.argsort(eigenvalues)[::-1][:k]]


def subspace_affinity(a: np.ndarray, b: np.ndarray) -> float:
    """Similarity of the column spans of ``a`` and ``b`` (orthonormal columns): the mean
    squared cosine of their principal angles, ``||a^T b||_F^2 / k``, in [0, 1].
    """
    return float(np.sum((a.T @ b) ** 2) / a.shape[1])


def alpha_grid(n_alphas: int, max_log_alpha: float) -> np.ndarray:
    """0 and ``n_alphas`` values log-spaced from 0.1 to ``10 ** max_log_alpha``, as in the
    original's automatic selection.
    """
    return np.concatenate([[0.0], np.logspace(-1, max_log_alpha, n_alphas)])


def select_alphas(
    target_cov: np.ndarray,
    background_cov: np.ndarray,
    k: int,
    alphas: np.ndarray,
    n_clusters: int,
    seed: int,
) -> list[float]:
    """The original's automatic choice: spectral clustering of the contrastive subspaces
    found over ``alphas`` (``alphas[0]`` must be 0, i.e. plain PCA), one exemplar alpha per
    cluster (the member with the largest summed affinity to its cluster), the cluster holding
    alpha = 0 left out. Returns the exemplar alphas, ascending.
    """
    spaces = [contrastive_directions(target_cov, background_cov, a, k) for a in alphas]
    affinity = np.array([[subspace_affinity(p, q) for q in spaces] for p in spaces])
    labels = SpectralClustering(
        n_clusters=n_clusters, affinity="precomputed", random_state=seed
    ).fit_predict(affinity)
    exemplars = []
    for cluster in np.unique(labels):
        members = np.flatnonzero(labels == cluster)
        if 0 in members:
            continue
        best = members[np.argmax(affinity[np.ix_(members, members)].sum(axis=0))]
        exemplars.append(float(alphas[best]))
    return sorted(exemplars)


def covariate_effect(flat: np.ndarray, is_target: np.ndarray, covariates: np.ndarray) -> np.ndarray:
    """The linear effect of encoded covariates on the features: the least-squares
    coefficients of ``x ~ 1 + group + covariates`` over both groups (the group indicator
    keeps the difference between the groups out of the effect).
    """
    design = np.column_stack([np.ones(len(flat)), is_target.astype(np.float64), covariates])
    coefficients, *_ = np.linalg.lstsq(design, flat, rcond=None)
    effect: np.ndarray = coefficients[2:]
    return effect


class CPCAParams(TypedDict, total=False):
    """The parameters CPCA takes by name (see its class docstring)."""

    alpha: float | str
    standardize: bool
    n_alphas: int
    max_log_alpha: float
    n_clusters: int
    max_features: int
    seed: int


@register_method("cpca", "cPCA")
class CPCA(ContrastiveEstimator):
    """Contrastive PCA: linear salient directions with more variance in the target than in
    the background.

    Salient space: the ``salient_dim`` leading eigenvectors of ``C_t - alpha C_b``, where
    ``C_t`` and ``C_b`` are the covariances of the target and background features, each
    centred on its own group mean and, with ``standardize=True``, scaled to unit variance per
    feature by its own group (as the reference implementation, the ``contrastive`` package,
    does). ``transform`` centres and scales new samples with the target's statistics before
    projecting them. Common space: the ``common_dim`` leading principal components of the
    pooled background and target samples (pooled mean and scale).

    ``alpha`` is a number or ``"auto"``. Automatic choice: the original's spectral
    clustering of the subspaces found for alpha in {0} and ``n_alphas`` log-spaced values up
    to ``10 ** max_log_alpha``, into ``n_clusters`` clusters, one exemplar alpha per cluster
    that does not hold alpha = 0 (all kept in ``alphas_``). The original shows these
    exemplars to the user; this estimator takes the smallest one (``alpha_``): the first
    subspace that departs from plain PCA. Larger alphas chase directions where the background
    has ever less variance, which on noisy data are noise (on the reference package's own
    demonstration data the smallest exemplar separates the target clusters best). Subspace
    affinity is the mean squared cosine of the principal angles (the original multiplies the
    two largest cosines, which only suits two components).

    Inputs are flattened to (n, features). With more than ``max_features`` features, both
    groups are first projected on the leading ``max_features`` principal components of the
    pooled (centred, scaled) data, as the reference does above 1,000 features.

    Attributes
    ----------
    alpha_ : float
        The contrast strength used.
    alphas_ : list of float
        The exemplar alphas of the automatic choice (``[alpha_]`` for a given alpha).
    common_components_, salient_components_ : ndarray of shape (features, dim)
        The projections of each space.

    Examples
    --------
    >>> import numpy as np
    >>> from sepclr import CPCA
    >>> rng = np.random.default_rng(0)
    >>> background = rng.normal(size=(200, 6))
    >>> target = rng.normal(size=(200, 6))
    >>> target[:, 0] += rng.choice([-3, 3], size=200)  # a pattern only the targets have
    >>> model = CPCA(2, 1, alpha=1.0, standardize=False).fit(background, target)
    >>> float(abs(model.salient_components_[0, 0])) > 0.9
    True
    """

    common_dim: Param[int | str] = Param(  # type: ignore[assignment]
        "auto",
        Either((Exactly("auto"), Integer(1))),
        'Principal components of the pooled samples kept; "auto": 32, or fewer when the data '
        "has fewer features or samples.",
    )
    salient_dim: Param[int | str] = Param(  # type: ignore[assignment]
        "auto",
        Either((Exactly("auto"), Integer(1))),
        'Contrastive directions kept; "auto": 32, or fewer when the data has fewer features '
        "or samples.",
    )
    alpha: Param[float | str] = Param(
        "auto",
        Either((Exactly("auto"), NON_NEGATIVE)),
        'The contrast strength, or "auto" for the original\'s spectral-clustering choice.',
    )
    standardize = Param(True, BOOLEAN, "Scale every feature to unit variance per group.")
    n_alphas = Param(40, Integer(1, 1000), "Log-spaced alphas tried by the automatic choice.")
    max_log_alpha = Param(3.0, POSITIVE, "The largest alpha tried is 10 ** max_log_alpha.")
    n_clusters = Param(4, Integer(2, 100), "Clusters of subspaces in the automatic choice.")
    max_features = Param(1000, Integer(1), "Above this many features, reduce by PCA first.")
    seed = Param(0, SEED, "Seeds the PCA solvers and the spectral clustering.")

    if TYPE_CHECKING:

        def __init__(
            self,
            common_dim: int | str = "auto",
            salient_dim: int | str = "auto",
            **params: Unpack[CPCAParams],
        ) -> None: ...

    def _fit_groups(
        self, inputs: torch.Tensor, is_target: torch.Tensor, covariates: torch.Tensor | None
    ) -> None:
        flat = inputs.reshape(len(inputs), -1).double().numpy()
        features, samples = min(flat.shape[1], self.max_features), len(flat)
        self.common_dim_ = min(_size("common_dim", self.common_dim, features, samples), samples)
        self.salient_dim_ = _size("salient_dim", self.salient_dim, features, samples)
        if covariates is not None:
            self._check_salient_room(self.salient_dim_)
        self._fit_common(flat)
        if covariates is not None:
            self.covariate_effect_ = covariate_effect(flat, is_target.numpy(), covariates.numpy())
            flat = flat - covariates.double().numpy() @ self.covariate_effect_
        else:
            self.__dict__.pop("covariate_effect_", None)
        bg, tg = flat[~is_target.numpy()], flat[is_target.numpy()]
        for name, group in (("background", bg), ("target", tg)):
            if len(group) < 2:
                raise InvalidInputError(f"{name} needs at least 2 samples for a covariance")
        self._fit_salient(bg, tg)

    def _fit_common(self, pooled: np.ndarray) -> None:
        """The leading principal components of the pooled samples (pooled mean and scale)."""
        mean, scale = _centre_and_scale(pooled, bool(self.standardize))
        common = PCA(n_components=self.common_dim_, random_state=self.seed)
        common.fit((pooled - mean) / scale)
        self.common_mean_, self.common_scale_ = mean, scale
        self.common_components_ = common.components_.T  # (features, common_dim)

    def _fit_salient(self, bg: np.ndarray, tg: np.ndarray) -> None:
        """The contrastive directions, each group centred and scaled by its own statistics."""
        bg_mean, bg_scale = _centre_and_scale(bg, bool(self.standardize))
        tg_mean, tg_scale = _centre_and_scale(tg, bool(self.standardize))
        bg_std, tg_std = (bg - bg_mean) / bg_scale, (tg - tg_mean) / tg_scale
        reduction = np.eye(bg.shape[1])
        if bg.shape[1] > self.max_features:
            reduction = self._reduction(bg_std, tg_std)
            bg_std, tg_std = bg_std @ reduction, tg_std @ reduction
        bg_cov = bg_std.T @ bg_std / (len(bg) - 1)
        tg_cov = tg_std.T @ tg_std / (len(tg) - 1)
        if self.alpha == "auto":
            grid = alpha_grid(self.n_alphas, self.max_log_alpha)
            self.alphas_ = select_alphas(
                tg_cov, bg_cov, self.salient_dim_, grid, self.n_clusters, self.seed
            )
            self.alpha_ = self.alphas_[0]
        else:
            self.alpha_ = float(self.alpha)
            self.alphas_ = [self.alpha_]
        directions = contrastive_directions(tg_cov, bg_cov, self.alpha_, self.salient_dim_)
        self.salient_mean_, self.salient_scale_ = tg_mean, tg_scale
        self.salient_components_ = reduction @ directions  # (features, salient_dim)

    def _reduction(self, bg_std: np.ndarray, tg_std: np.ndarray) -> np.ndarray:
        """The pre-PCA projection (features, kept) used above ``max_features`` features."""
        kept = min(self.max_features, len(bg_std) + len(tg_std))
        if self.salient_dim_ > kept:
            raise InvalidInputError(
                f"salient_dim={self.salient_dim_} is larger than the {kept} dimensions the "
                f"pre-PCA keeps from {len(bg_std) + len(tg_std)} samples of "
                f"{bg_std.shape[1]} features; lower salient_dim or give more samples"
            )
        reducer = PCA(n_components=kept, random_state=self.seed)
        reducer.fit(np.concatenate([bg_std, tg_std]))
        components: np.ndarray = reducer.components_.T
        return components

    def transform(
        self, x: Any, covariates: Any = None, *, layer: str | None = None, as_frame: bool = False
    ) -> Any:
        """The common and salient codes of ``x``.

        Parameters
        ----------
        x : array-like, DataFrame or AnnData, shape (n, ...)
            Samples of the shape (and columns) the model was fitted on (cells as at ``fit``).
        covariates : DataFrame or dict, optional
            The samples' covariates, for a model fitted with covariates: their linear effect
            is then removed from ``x`` before the salient projection, as at ``fit``. Without
            them, the salient code of ``x`` keeps that effect.
        layer : str, optional
            For an AnnData, the layer that holds the expression (``X`` when None).
        as_frame : bool
            Return one pandas DataFrame instead (:meth:`ContrastiveEstimator.transform`).

        Returns
        -------
        tuple of ndarray, or DataFrame
            The common and salient codes, as :meth:`ContrastiveEstimator.transform` returns them.
        """
        if covariates is None:
            return super().transform(x, layer=layer, as_frame=as_frame)
        self._check_fitted()
        given = x
        x = self._cells_as_input(x, layer)
        self._check_features(x)
        if not hasattr(self, "covariates_"):
            raise InvalidInputError("this CPCA was fitted without covariates; leave them out")
        inputs = as_float_tensor(x, "x")
        encoded = self.covariates_.encode(covariates, "x", len(inputs))
        codes = finite_codes(*self._erased(*self._codes(inputs, encoded)))
        return codes_frame(given, *codes) if as_frame else codes

    def _transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        return self._codes(as_float_tensor(x, "x"), None)

    def _codes(
        self, inputs: torch.Tensor, covariates: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        self._check_sample_shape(inputs)
        flat = inputs.reshape(len(inputs), -1).double().numpy()
        common = ((flat - self.common_mean_) / self.common_scale_) @ self.common_components_
        if covariates is not None:
            flat = flat - covariates.astype(np.float64) @ self.covariate_effect_
        salient = ((flat - self.salient_mean_) / self.salient_scale_) @ self.salient_components_
        return common.astype(np.float32), salient.astype(np.float32)

    def _raw_code_function(self, device: torch.device) -> CodeFunction:
        """The two projections in float64 (without covariates, as :meth:`transform` without
        them)."""
        (cm, cs, cw), (sm, ss, sw) = (
            [
                torch.from_numpy(np.asarray(getattr(self, f"{space}_{part}_"))).to(device)
                for part in ("mean", "scale", "components")
            ]
            for space in ("common", "salient")
        )

        def codes(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            flat = x.reshape(len(x), -1).double()
            return ((flat - cm) / cs) @ cw, ((flat - sm) / ss) @ sw

        return codes

    def loading_scale(self, space: str) -> np.ndarray:
        """The per-feature spread in whose units loadings are given."""
        features = int(np.prod(self.sample_shape_))
        scale = np.asarray(getattr(self, f"{space}_scale_"), dtype=np.float64)
        return np.broadcast_to(scale, (features,)).copy()

    # --- persistence -----------------------------------------------------------------------

    _ARRAYS = (
        "common_mean_",
        "common_scale_",
        "common_components_",
        "salient_mean_",
        "salient_scale_",
        "salient_components_",
    )

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        names = self._ARRAYS + (("covariate_effect_",) if hasattr(self, "covariates_") else ())
        return {name: torch.from_numpy(getattr(self, name)) for name in names}

    def fit_summary(self) -> dict[str, Any]:
        """What is saved with the model beside its tensors."""
        return {
            "alpha": self.alpha_,
            "alphas": self.alphas_,
            "common_dim": self.common_dim_,
            "salient_dim": self.salient_dim_,
        }

    def _set_fitted(self, fitted: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        self.common_dim_ = int(fitted.get("common_dim", self.common_dim))
        self.salient_dim_ = int(fitted.get("salient_dim", self.salient_dim))
        self.alpha_ = float(fitted["alpha"])
        self.alphas_ = [float(a) for a in fitted["alphas"]]
        features = int(np.prod(self.sample_shape_))
        for name in self._ARRAYS:
            value = tensors[name].double().numpy()
            if value.shape[0] != features:
                raise ValueError(f"{name} has {value.shape[0]} rows, expected {features}")
            setattr(self, name, value)
        if hasattr(self, "covariates_"):
            effect = tensors["covariate_effect_"].double().numpy()
            if effect.shape != (self.covariates_.width, features):
                raise ValueError(f"covariate_effect has shape {effect.shape}")
            self.covariate_effect_ = effect


def _size(name: str, value: int | str, features: int, samples: int) -> int:
    """A code's size: ``"auto"`` is 32, or fewer when the data has fewer features or
    samples; a number larger than ``features`` is refused."""
    if value == "auto":
        return min(32, features, samples)
    if int(value) > features:
        raise InvalidInputError(
            f"{name}={value} is larger than the number of features ({features}); lower it, or "
            f'leave it "auto"'
        )
    return int(value)
