"""The salient-space terms (redundancy penalties, conditional uniformity, reconstruction,
linear residual) against plain references: loops over pairs, scikit-learn, closed forms."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.cross_decomposition import CCA
from sklearn.linear_model import Ridge

from sepclr.objectives import SepCLRObjectiveSettings, sepclr_objective
from sepclr.objectives.infomax import conditional_salient_uniformity
from sepclr.objectives.redundancy import (
    REDUNDANCY_TERMS,
    cca,
    explained_variance,
    kernel_hsic,
    linear_hsic,
    linear_residual,
    redundancy,
)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def randn(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def correlated(gen, n=200, d_c=4, d_s=3, strength=1.0):
    """c, and s = a linear function of c plus noise."""
    c = randn(gen, n, d_c)
    s = strength * c[:, :d_s] @ randn(gen, d_s, d_s) + randn(gen, n, d_s)
    return c, s


def test_explained_variance_is_the_r2_of_scikit_learn_ridge(gen):
    c, s = correlated(gen)
    ridge = 0.1
    cc = c - c.mean(0)
    alpha = ridge * float(torch.trace(cc.T @ cc)) / c.shape[1]
    model = Ridge(alpha=alpha).fit(c.numpy(), s.numpy())
    residual = s.numpy() - model.predict(c.numpy())
    expected = 1 - (residual**2).sum() / ((s.numpy() - s.numpy().mean(0)) ** 2).sum()
    assert float(explained_variance(c, s, ridge)) == pytest.approx(expected, rel=1e-9)


def test_cca_without_ridge_is_the_squared_correlation_in_one_dimension(gen):
    c, s = correlated(gen, d_c=1, d_s=1)
    r = np.corrcoef(c[:, 0].numpy(), s[:, 0].numpy())[0, 1]
    assert float(cca(c, s, ridge=0.0)) == pytest.approx(r**2, rel=1e-9)


def test_cca_without_ridge_matches_scikit_learn_canonical_correlations(gen):
    c, s = correlated(gen, n=500, d_c=3, d_s=2)
    model = CCA(n_components=2, max_iter=5000, tol=1e-12).fit(c.numpy(), s.numpy())
    u, v = model.transform(c.numpy(), s.numpy())
    squared = [np.corrcoef(u[:, k], v[:, k])[0, 1] ** 2 for k in range(2)]
    assert float(cca(c, s, ridge=0.0)) == pytest.approx(np.mean(squared), rel=1e-5)


def test_cca_is_invariant_to_invertible_linear_maps(gen):
    c, s = correlated(gen)
    a, b = randn(gen, 4, 4), randn(gen, 3, 3)
    torch.testing.assert_close(cca(c, s, 0.0), cca(c @ a + 3.0, s @ b - 1.0, 0.0))


def hsic_reference(K, L):
    n = len(K)
    H = np.eye(n) - np.ones((n, n)) / n
    Kc, Lc = H @ K @ H, H @ L @ H
    return np.sum(Kc * Lc) / math.sqrt(np.sum(Kc * Kc) * np.sum(Lc * Lc))


def test_linear_hsic_matches_the_gram_matrix_form(gen):
    c, s = correlated(gen, n=50)
    expected = hsic_reference(c.numpy() @ c.numpy().T, s.numpy() @ s.numpy().T)
    assert float(linear_hsic(c, s)) == pytest.approx(expected, rel=1e-9)


def test_kernel_hsic_matches_a_loop_over_pairs(gen):
    c, s = correlated(gen, n=30)

    def gaussian(x):
        x = x.numpy()
        d = np.array([[np.sum((a - b) ** 2) for b in x] for a in x])
        sigma2 = np.median(d[~np.eye(len(x), dtype=bool)])
        return np.exp(-d / (2 * sigma2))

    expected = hsic_reference(gaussian(c), gaussian(s))
    assert float(kernel_hsic(c, s)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("name", REDUNDANCY_TERMS[1:])
def test_penalties_rank_redundant_above_independent_codes(gen, name):
    c = randn(gen, 256, 4)
    independent = randn(gen, 256, 3)
    redundant = torch.cat([c[:, :2] + 0.1 * randn(gen, 256, 2), randn(gen, 256, 1)], dim=1)
    everyone = torch.ones(256, dtype=torch.bool)
    low = float(redundancy(name, c, independent, everyone))
    high = float(redundancy(name, c, redundant, everyone))
    assert 0 <= low < 0.15 and high > low + 0.3


@pytest.mark.parametrize("name", REDUNDANCY_TERMS[1:])
def test_penalties_use_target_rows_only_and_move_the_salient_code_only(gen, name):
    c, s = correlated(gen, n=60)
    c.requires_grad_(True)
    s.requires_grad_(True)
    is_target = torch.arange(60) % 2 == 0
    value = redundancy(name, c, s, is_target)
    torch.testing.assert_close(
        value, redundancy(name, c[is_target], s[is_target], is_target[is_target])
    )
    value.backward()
    assert c.grad is None or float(c.grad.abs().sum()) == 0.0
    assert float(s.grad[is_target].abs().sum()) > 0 and float(s.grad[~is_target].abs().sum()) == 0


def test_redundancy_is_zero_with_fewer_than_three_targets(gen):
    c, s = correlated(gen, n=10)
    is_target = torch.zeros(10, dtype=torch.bool)
    is_target[:2] = True
    assert float(redundancy("cca", c, s, is_target)) == 0.0


def test_linear_residual_matches_least_squares(gen):
    c, s = correlated(gen, n=300)
    coef, offset = linear_residual(c.float(), s.float(), ridge=0.0)
    design = np.c_[c.numpy(), np.ones(len(c))]
    solution, *_ = np.linalg.lstsq(design, s.numpy(), rcond=None)
    np.testing.assert_allclose(coef.numpy(), solution[:-1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(offset.numpy(), c.mean(0).numpy(), rtol=1e-5, atol=1e-6)
    residual = s.float() - (c.float() - offset) @ coef
    assert float(cca(c, residual.double(), ridge=0.0)) < 1e-8
    np.testing.assert_allclose(residual.mean(0).numpy(), s.mean(0).numpy(), atol=1e-5)


def test_linear_residual_on_the_background_subspace_keeps_target_only_directions(gen):
    """c = [a, b, t]: backgrounds vary along a and b only (a most), targets along all three;
    s depends on b and t. Keeping the backgrounds' first direction removes nothing of t."""
    n = 400
    c_background = torch.cat([3 * randn(gen, n, 1), randn(gen, n, 1), torch.zeros(n, 1)], 1)
    c = randn(gen, n, 3)
    s = torch.stack([c[:, 0] + 0.1 * randn(gen, n), c[:, 2] + 0.1 * randn(gen, n)], 1)
    coef, offset = linear_residual(c.float(), s.float(), c_background.float(), 0.8, 0.0)
    np.testing.assert_allclose(offset.numpy(), c_background.mean(0).numpy(), atol=1e-6)
    residual = s - (c - offset.double()) @ coef.double()
    # the a-part of the first column is gone, the t-dependence of the second stays
    assert abs(np.corrcoef(residual[:, 0], c[:, 0])[0, 1]) < 0.05
    assert np.corrcoef(residual[:, 1], c[:, 2])[0, 1] > 0.9
    # reference: least squares on the projection onto the backgrounds' first principal axis
    centred = (c_background - c_background.mean(0)).numpy()
    axis = np.linalg.eigh(centred.T @ centred)[1][:, -1:]
    design = np.c_[c.numpy() @ axis, np.ones(n)]
    solution, *_ = np.linalg.lstsq(design, s.numpy(), rcond=None)
    np.testing.assert_allclose(coef.numpy(), axis @ solution[:1], rtol=1e-4, atol=1e-5)


def test_conditional_uniformity_matches_a_loop_over_pairs(gen):
    n = 12
    c = F.normalize(randn(gen, n, 3), dim=1)
    s = randn(gen, n, 2)
    is_target = torch.arange(n) % 3 != 0
    tau_s, tau_c = 0.7, 0.4
    teacher = s * is_target.unsqueeze(1)
    total = 0.0
    for i in range(n):
        weights = [
            math.exp(-float((c[i] - c[j]).pow(2).sum()) / (2 * tau_c)) if j != i else 0.0
            for j in range(n)
        ]
        norm = sum(weights)
        inner = sum(
            weights[j]
            / norm
            * math.exp(-float((teacher[i] - teacher[j]).pow(2).sum()) / (2 * tau_s))
            for j in range(n)
        )
        total += math.log(inner)
    value = conditional_salient_uniformity(s, c, is_target, tau_s, tau_c)
    assert float(value) == pytest.approx(total / n, rel=1e-9)


def test_conditional_uniformity_is_joint_minus_common_entropy(gen):
    """-H(s|c) = -H(c, s) + H(c) with the same resubstitution estimators (no self-pairs)."""
    n = 20
    c = F.normalize(randn(gen, n, 3), dim=1)
    s = randn(gen, n, 2)
    is_target = torch.ones(n, dtype=torch.bool)
    off = ~torch.eye(n, dtype=torch.bool)
    kc = torch.exp(-torch.cdist(c, c).pow(2))
    ks = torch.exp(-torch.cdist(s, s).pow(2))
    joint = torch.log((kc * ks * off).sum(1) / (n - 1)).mean()
    common = torch.log((kc * off).sum(1) / (n - 1)).mean()
    value = conditional_salient_uniformity(s, c, is_target, 0.5, 0.5)
    assert float(value) == pytest.approx(float(joint - common), rel=1e-9)


def test_objective_adds_each_extension_with_its_weight(gen):
    n = 16
    heads = [randn(gen, n, 4) for _ in range(4)]
    reps = (randn(gen, n, 4), randn(gen, n, 4))
    is_target = torch.arange(n) % 2 == 0
    base = SepCLRObjectiveSettings()
    total, terms = sepclr_objective((heads[0], heads[1]), (heads[2], heads[3]), is_target, base)
    extended = SepCLRObjectiveSettings(redundancy="cca", redundancy_weight=3.0)
    total2, terms2 = sepclr_objective(
        (heads[0], heads[1]), (heads[2], heads[3]), is_target, extended, common_reps=reps
    )
    red = 0.5 * (
        redundancy("cca", reps[0], heads[2], is_target)
        + redundancy("cca", reps[1], heads[3], is_target)
    )
    torch.testing.assert_close(terms2["redundancy"], red)
    torch.testing.assert_close(total2, total + 3.0 * red)
    assert "redundancy" not in terms


def test_reconstruction_decodes_backgrounds_without_their_salient_code(gen):
    from sepclr.objectives.reconstruction import explaining_away_reconstruction

    decoder = torch.nn.Linear(5, 4).double()
    common, salient = randn(gen, 6, 3), randn(gen, 6, 2)
    x = randn(gen, 6, 4)
    is_target = torch.tensor([1, 0, 1, 0, 0, 1], dtype=torch.bool)
    value = explaining_away_reconstruction(decoder, common, salient, is_target, x)
    rows = []
    for i in range(6):
        code = salient[i] if is_target[i] else torch.zeros(2, dtype=torch.float64)
        rows.append(((decoder(torch.cat([common[i], code])) - x[i]) ** 2).mean())
    expected = float(torch.stack(rows).mean().detach())
    assert float(value.detach()) == pytest.approx(expected, rel=1e-9)
