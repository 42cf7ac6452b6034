import contrastive  # the reference implementation (PyPI `contrastive`, a test dependency)
import numpy as np
import pytest

import sepclr
from sepclr.errors import InvalidInputError
from sepclr.methods.cpca import subspace_affinity


def clustered_problem(seed: int = 0, n: int = 300, d: int = 30):
    """The reference package's own demonstration: target clusters in features 10-29 hidden
    under a high-variance block that the background shares."""
    rng = np.random.default_rng(seed)
    background = np.zeros((n, d))
    background[:, :10] = rng.normal(0, 10, (n, 10))
    background[:, 10:20] = rng.normal(0, 3, (n, 10))
    background[:, 20:] = rng.normal(0, 1, (n, d - 20))
    groups = rng.integers(0, 4, n)
    target = rng.normal(0, 1, (n, d))
    target[:, :10] = rng.normal(0, 10, (n, 10))
    target[:, 10:20] += 6.0 * (groups[:, None] // 2)
    target[:, 20:30] += 3.0 * (groups[:, None] % 2)
    # float32 values, so that both implementations see exactly the same numbers
    return background.astype(np.float32), target.astype(np.float32), groups


def same_up_to_sign(a: np.ndarray, b: np.ndarray, tol: float) -> None:
    signs = np.sign(np.sum(a * b, axis=0))
    np.testing.assert_allclose(a * signs, b, atol=tol * np.abs(b).max())


@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("alpha", [0.0, 1.5, 40.0])
def test_salient_projection_matches_reference_package(standardize, alpha):
    background, target, _ = clustered_problem()
    reference = contrastive.CPCA(n_components=2, standardize=standardize)
    expected = reference.fit_transform(
        target.astype(np.float64),
        background.astype(np.float64),
        alpha_selection="manual",
        alpha_value=alpha if alpha else 1e-300,  # the package rejects a falsy alpha
    )
    model = sepclr.CPCA(common_dim=2, salient_dim=2, alpha=alpha, standardize=standardize)
    _, salient = model.fit(background, target).transform(target)
    same_up_to_sign(salient, expected, 1e-5)


def test_salient_projection_matches_plain_eigendecomposition():
    background, target, _ = clustered_problem(seed=1)
    bg = background.astype(np.float64) - background.mean(0)
    tg = target.astype(np.float64) - target.mean(0)
    alpha = 3.0
    matrix = np.cov(tg, rowvar=False) - alpha * np.cov(bg, rowvar=False)
    values, vectors = np.linalg.eig(matrix)
    top = vectors[:, np.argsort(-values.real)[:3]].real
    model = sepclr.CPCA(common_dim=2, salient_dim=3, alpha=alpha, standardize=False)
    _, salient = model.fit(background, target).transform(target)
    same_up_to_sign(salient, tg @ top, 1e-5)


def test_common_space_is_pca_of_pooled_data():
    background, target, _ = clustered_problem(seed=2)
    pooled = np.concatenate([background, target]).astype(np.float64)
    mean, scale = pooled.mean(0), pooled.std(0)
    _, _, vt = np.linalg.svd((pooled - mean) / scale, full_matrices=False)
    model = sepclr.CPCA(common_dim=3, salient_dim=2, alpha=1.0).fit(background, target)
    common, _ = model.transform(target)
    same_up_to_sign(common, ((target - mean) / scale) @ vt[:3].T, 1e-5)


def test_automatic_alpha_finds_the_target_clusters():
    background, target, groups = clustered_problem()
    options = {"common_dim": 2, "salient_dim": 2, "standardize": False}
    model = sepclr.CPCA(**options).fit(background, target)
    assert model.alpha_ == min(model.alphas_) and model.alpha_ > 0
    _, salient = model.transform(target)
    _, plain_pca = sepclr.CPCA(alpha=0.0, **options).fit(background, target).transform(target)

    def separation(codes: np.ndarray) -> float:  # between-group over within-group variance
        centres = np.stack([codes[groups == g].mean(0) for g in range(4)])
        within = np.mean([codes[groups == g].var(0).sum() for g in range(4)])
        return float(centres.var(0).sum() / within)

    assert separation(salient) > 10 * separation(plain_pca)
    again = sepclr.CPCA(**options).fit(background, target)
    assert again.alpha_ == model.alpha_


def test_subspace_affinity_bounds():
    basis = np.eye(5)
    assert subspace_affinity(basis[:, :2], basis[:, :2]) == pytest.approx(1.0)
    assert subspace_affinity(basis[:, :2], basis[:, 2:4]) == pytest.approx(0.0)


def test_images_are_flattened_and_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    background = rng.integers(0, 256, (40, 1, 6, 6), dtype=np.uint8)
    target = rng.integers(0, 256, (50, 1, 6, 6), dtype=np.uint8)
    model = sepclr.CPCA(common_dim=3, salient_dim=4, alpha=2.0).fit(background, target)
    common, salient = model.transform(target)
    assert common.shape == (50, 3) and salient.shape == (50, 4)
    loaded = sepclr.load(model.save(tmp_path / "cpca"))
    assert isinstance(loaded, sepclr.CPCA) and loaded.alpha_ == 2.0


def test_bad_input_and_options():
    background, target, _ = clustered_problem()
    with pytest.raises(InvalidInputError, match="larger than the number of features"):
        sepclr.CPCA(salient_dim=31).fit(background, target)
    with pytest.raises(InvalidInputError, match="alpha"):
        sepclr.CPCA(alpha=-1.0).fit(background, target)
    with pytest.raises(InvalidInputError, match="at least 2 samples"):
        sepclr.CPCA(common_dim=2, salient_dim=2).fit(background[:1], target)
    with pytest.raises(InvalidInputError, match="trailing shape"):
        sepclr.CPCA().fit(background[:, :5], target)


def test_fewer_samples_than_the_pre_pca_keeps():
    """Wide data with few samples: the pre-PCA keeps at most one dimension per sample, and a
    salient space larger than that is refused with a clear message."""
    rng = np.random.default_rng(0)
    background, target = rng.normal(size=(12, 1500)), rng.normal(size=(12, 1500))
    model = sepclr.CPCA(common_dim=4, salient_dim=4, alpha=1.0).fit(background, target)
    assert model.transform(target)[1].shape == (12, 4)
    with pytest.raises(InvalidInputError, match="salient_dim=32 is larger than the 24 dimensions"):
        sepclr.CPCA(common_dim=4, salient_dim=32, alpha=1.0).fit(background, target)
