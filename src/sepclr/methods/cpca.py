"""Contrastive PCA (Abid, Zhang, Bagaria, Zou; Nature Communications 2018) with the same
contract as SepCLR."""

from typing import Any

import numpy as np
import torch
from sklearn.cluster import SpectralClustering
from sklearn.decomposition import PCA

from sepclr.errors import InvalidInputError
from sepclr.methods.base import ContrastiveEstimator
from sepclr.methods.validation import as_float_tensor, check_pair, check_positive


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
    ``C_target - alpha C_background`` (Abid et al. 2018, Algorithm 1)."""
    eigenvalues, eigenvectors = np.linalg.eigh(target_cov - alpha * background_cov)
    return eigenvectors[:, np.argsort(eigenvalues)[::-1][:k]]


def subspace_affinity(a: np.ndarray, b: np.ndarray) -> float:
    """Similarity of the column spans of ``a`` and ``b`` (orthonormal columns): the mean
    squared cosine of their principal angles, ``||a^T b||_F^2 / k``, in [0, 1]."""
    return float(np.sum((a.T @ b) ** 2) / a.shape[1])


def alpha_grid(n_alphas: int, max_log_alpha: float) -> np.ndarray:
    """0 and ``n_alphas`` values log-spaced from 0.1 to ``10 ** max_log_alpha``, as in the
    original's automatic selection."""
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
    """

    def __init__(
        self,
        common_dim: int = 32,
        salient_dim: int = 32,
        alpha: float | str = "auto",
        standardize: bool = True,
        n_alphas: int = 40,
        max_log_alpha: float = 3.0,
        n_clusters: int = 4,
        max_features: int = 1000,
        seed: int = 0,
    ) -> None:
        self.common_dim = common_dim
        self.salient_dim = salient_dim
        self.alpha = alpha
        self.standardize = standardize
        self.n_alphas = n_alphas
        self.max_log_alpha = max_log_alpha
        self.n_clusters = n_clusters
        self.max_features = max_features
        self.seed = seed

    def _check_params(self, n_features: int) -> None:
        for name in ("common_dim", "salient_dim", "n_alphas", "max_features"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("n_clusters", self.n_clusters, integer=True)
        check_positive("seed", self.seed, allow_zero=True, integer=True)
        check_positive("max_log_alpha", self.max_log_alpha)
        if self.alpha != "auto":
            check_positive("alpha", self.alpha, allow_zero=True)
        if self.n_clusters < 2:
            raise InvalidInputError(f"n_clusters must be at least 2, got {self.n_clusters}")
        for name in ("common_dim", "salient_dim"):
            if getattr(self, name) > min(n_features, self.max_features):
                raise InvalidInputError(
                    f"{name}={getattr(self, name)} is larger than the number of features "
                    f"({min(n_features, self.max_features)})"
                )

    def fit(self, background: Any, target: Any) -> "CPCA":
        """Fit both spaces on ``background`` and ``target`` samples. Returns ``self``."""
        bg_tensor, tg_tensor = check_pair(background, target)
        bg = bg_tensor.reshape(len(bg_tensor), -1).double().numpy()
        tg = tg_tensor.reshape(len(tg_tensor), -1).double().numpy()
        self._check_params(bg.shape[1])
        for name, group in (("background", bg), ("target", tg)):
            if len(group) < 2:
                raise InvalidInputError(f"{name} needs at least 2 samples for a covariance")

        pooled = np.concatenate([bg, tg])
        pooled_mean, pooled_scale = _centre_and_scale(pooled, bool(self.standardize))
        k = min(self.common_dim, *pooled.shape)
        common = PCA(n_components=k, random_state=self.seed)
        common.fit((pooled - pooled_mean) / pooled_scale)

        bg_mean, bg_scale = _centre_and_scale(bg, bool(self.standardize))
        tg_mean, tg_scale = _centre_and_scale(tg, bool(self.standardize))
        bg_std, tg_std = (bg - bg_mean) / bg_scale, (tg - tg_mean) / tg_scale
        reduction = np.eye(bg.shape[1])
        if bg.shape[1] > self.max_features:
            kept = min(self.max_features, len(bg) + len(tg))
            if self.salient_dim > kept:
                raise InvalidInputError(
                    f"salient_dim={self.salient_dim} is larger than the {kept} dimensions the "
                    f"pre-PCA keeps from {len(bg) + len(tg)} samples of {bg.shape[1]} features; "
                    "lower salient_dim or give more samples"
                )
            reducer = PCA(n_components=kept, random_state=self.seed)
            reducer.fit(np.concatenate([bg_std, tg_std]))
            reduction = reducer.components_.T
            bg_std, tg_std = bg_std @ reduction, tg_std @ reduction
        bg_cov = bg_std.T @ bg_std / (len(bg) - 1)
        tg_cov = tg_std.T @ tg_std / (len(tg) - 1)

        if self.alpha == "auto":
            self.alphas_ = select_alphas(
                tg_cov,
                bg_cov,
                self.salient_dim,
                alpha_grid(self.n_alphas, self.max_log_alpha),
                self.n_clusters,
                self.seed,
            )
            self.alpha_ = self.alphas_[0]
        else:
            self.alpha_ = float(self.alpha)
            self.alphas_ = [self.alpha_]
        directions = contrastive_directions(tg_cov, bg_cov, self.alpha_, self.salient_dim)

        self.common_mean_ = pooled_mean
        self.common_scale_ = pooled_scale
        self.common_components_ = common.components_.T  # (features, common_dim)
        self.salient_mean_ = tg_mean
        self.salient_scale_ = tg_scale
        self.salient_components_ = reduction @ directions  # (features, salient_dim)
        self.sample_shape_ = tuple(bg_tensor.shape[1:])
        return self

    def transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Common (n, common_dim) and salient (n, salient_dim) projections, float32."""
        self._check_fitted()
        inputs = as_float_tensor(x, "x")
        self._check_sample_shape(inputs)
        flat = inputs.reshape(len(inputs), -1).double().numpy()
        common = ((flat - self.common_mean_) / self.common_scale_) @ self.common_components_
        salient = ((flat - self.salient_mean_) / self.salient_scale_) @ self.salient_components_
        return common.astype(np.float32), salient.astype(np.float32)

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
        return {name: torch.from_numpy(getattr(self, name)) for name in self._ARRAYS}

    def _fitted_metadata(self) -> dict[str, Any]:
        return {"alpha": self.alpha_, "alphas": self.alphas_}

    def _set_fitted(self, fitted: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        self.alpha_ = float(fitted["alpha"])
        self.alphas_ = [float(a) for a in fitted["alphas"]]
        features = int(np.prod(self.sample_shape_))
        for name in self._ARRAYS:
            value = tensors[name].double().numpy()
            if value.shape[0] != features:
                raise ValueError(f"{name} has {value.shape[0]} rows, expected {features}")
            setattr(self, name, value)
