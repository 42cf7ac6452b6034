"""Each objective against a plain transcription of the official code's formula (spec 1.4)."""

import math

import pytest
import torch
import torch.nn.functional as F

from sepclr.objectives import (
    SepCLRObjectiveSettings,
    alignment,
    build_independence,
    infoless_penalty,
    kjem,
    pairwise_sq_distances,
    salient_uniformity,
    sepclr_objective,
    uniformity,
)
from sepclr.objectives.independence import kmi, mmd_independence, multi_kernel_mmd

TAU = 0.5


# --- references: the official code's expressions, written plainly ---------------------------


def ref_align(x, y, alpha=2, tau=TAU):
    return (x - y).norm(p=2, dim=1).pow(alpha).mean() / (2 * tau)


def ref_uniform(x, tau=TAU):
    return torch.pdist(x, p=2).pow(2).mul(-1 / (2 * tau)).exp().mean().log()


def ref_joint_entropy(c, s, tau=TAU):
    kc = torch.cdist(c, c).pow(2).mul(-1 / (2 * tau)).exp()
    ks = torch.cdist(s, s).pow(2).mul(-1 / (2 * tau)).exp()
    return (kc * ks).mean(dim=1).log().mean()


def ref_loss(h_c1, h_c2, h_s1, h_s2, labels, beta_s, beta_reg, lam):
    c1, c2 = F.normalize(h_c1, dim=1), F.normalize(h_c2, dim=1)
    teacher1, teacher2 = h_s1.clone(), h_s2.clone()
    teacher1[labels == 0] = 0.0
    teacher2[labels == 0] = 0.0
    common = ref_align(c1, c2) + 2 * 0.5 * (ref_uniform(c1) + ref_uniform(c2))
    salient = ref_align(h_s1[labels == 1], h_s2[labels == 1]) + 2 * 0.5 * (
        ref_uniform(teacher1) + ref_uniform(teacher2)
    )
    reg = 0.5 * (
        ref_align(teacher1[labels == 0], h_s1[labels == 0])
        + ref_align(teacher2[labels == 0], h_s2[labels == 0])
    )
    jem = 0.5 * (ref_joint_entropy(c1, teacher1) + ref_joint_entropy(c2, teacher2))
    return common + beta_s * salient + beta_reg * reg + lam * jem


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def randn(gen, *shape, scale=1.0):
    return scale * torch.randn(*shape, generator=gen, dtype=torch.float64)


def test_pairwise_sq_distances_match_cdist(gen):
    a, b = randn(gen, 7, 5), randn(gen, 4, 5)
    torch.testing.assert_close(pairwise_sq_distances(a, b), torch.cdist(a, b).pow(2))
    torch.testing.assert_close(pairwise_sq_distances(a), torch.cdist(a, a).pow(2))


def test_pairwise_sq_distances_gradient_finite_for_duplicates():
    a = torch.ones(4, 3, dtype=torch.float64, requires_grad=True)
    pairwise_sq_distances(a).sum().backward()
    assert torch.isfinite(a.grad).all()


def test_alignment_matches_reference(gen):
    a, b = randn(gen, 16, 8), randn(gen, 16, 8)
    torch.testing.assert_close(alignment(a, b), ref_align(a, b), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(alignment(a, b, 2.0), ref_align(a, b, tau=2.0), rtol=1e-5, atol=1e-5)


def test_alignment_closed_form():
    a = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[3.0, 4.0], [1.0, 1.0]])
    assert alignment(a, b).item() == pytest.approx(25.0 / 2)  # (25 + 0) / 2 / (2 * 0.5)


@pytest.mark.parametrize("tau", [0.5, 0.1, 2.0])
def test_uniformity_matches_reference(gen, tau):
    z = F.normalize(randn(gen, 20, 6), dim=1)
    torch.testing.assert_close(uniformity(z, tau), ref_uniform(z, tau), rtol=1e-5, atol=1e-5)


def test_uniformity_closed_form_two_points():
    z = torch.tensor([[0.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    assert uniformity(z).item() == pytest.approx(-4.0)  # log exp(-4 / (2 * 0.5))


def test_salient_uniformity_matches_reference(gen):
    s = randn(gen, 24, 5, scale=0.5)
    labels = torch.arange(24) % 3 != 0
    teacher = s.clone()
    teacher[~labels] = 0.0
    torch.testing.assert_close(
        salient_uniformity(s, labels), ref_uniform(teacher), rtol=1e-5, atol=1e-5
    )


def test_salient_uniformity_ignores_background_values(gen):
    s = randn(gen, 10, 4)
    labels = torch.arange(10) < 5
    moved = s.clone()
    moved[~labels] += 100.0
    torch.testing.assert_close(salient_uniformity(s, labels), salient_uniformity(moved, labels))


def test_infoless_penalty_matches_reference(gen):
    s = randn(gen, 12, 4)
    labels = torch.arange(12) % 2 == 0
    teacher = s.clone()
    teacher[~labels] = 0.0
    expected = ref_align(teacher[~labels], s[~labels])
    torch.testing.assert_close(infoless_penalty(s, labels), expected, rtol=1e-5, atol=1e-5)


def test_infoless_penalty_is_zero_without_background(gen):
    s = randn(gen, 6, 3)
    assert infoless_penalty(s, torch.ones(6, dtype=torch.bool)).item() == 0.0


@pytest.mark.parametrize("tau", [0.5, 0.2])
def test_kjem_matches_reference(gen, tau):
    c = F.normalize(randn(gen, 18, 6), dim=1)
    s = randn(gen, 18, 4, scale=0.4)
    torch.testing.assert_close(kjem(c, s, tau), ref_joint_entropy(c, s, tau), rtol=1e-5, atol=1e-5)


def test_kjem_closed_form_identical_points():
    c = F.normalize(torch.ones(5, 3, dtype=torch.float64), dim=1)
    s = torch.zeros(5, 2, dtype=torch.float64)
    assert kjem(c, s).item() == pytest.approx(0.0)  # every kernel is 1


def test_kjem_is_invariant_to_batch_permutation(gen):
    c, s = F.normalize(randn(gen, 15, 4), dim=1), randn(gen, 15, 3)
    perm = torch.randperm(15, generator=gen)
    torch.testing.assert_close(kjem(c, s), kjem(c[perm], s[perm]))


def test_full_objective_matches_reference(gen):
    n = 32
    labels = (torch.arange(n) % 2).long()
    heads = [randn(gen, n, 8, scale=0.3) for _ in range(4)]
    weights = SepCLRObjectiveSettings(salient=3.0, infoless=7.0, independence=11.0)
    total, terms = sepclr_objective(
        (heads[0], heads[1]), (heads[2], heads[3]), labels.bool(), weights
    )
    expected = ref_loss(*heads, labels, 3.0, 7.0, 11.0)
    torch.testing.assert_close(total, expected, rtol=1e-5, atol=1e-5)
    assert set(terms) == {"common", "salient", "infoless", "independence"}


def test_full_objective_gradient_matches_reference(gen):
    """The fused kernels (one Gram product for k-JEM, in-place diagonals) give the
    reference's gradient with respect to every head."""
    n = 24
    labels = (torch.arange(n) % 3 == 0).long()
    heads = [randn(gen, n, 6, scale=0.5).requires_grad_() for _ in range(4)]
    weights = SepCLRObjectiveSettings(salient=3.0, infoless=7.0, independence=11.0)
    total, _ = sepclr_objective((heads[0], heads[1]), (heads[2], heads[3]), labels.bool(), weights)
    ours = torch.autograd.grad(total, heads)
    expected = torch.autograd.grad(ref_loss(*heads, labels, 3.0, 7.0, 11.0), heads)
    for mine, theirs in zip(ours, expected, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-7, atol=1e-9)


def test_stable_where_reference_underflows(gen):
    # Spread embeddings and a small bandwidth: every exp() underflows in the reference.
    z = randn(gen, 10, 4, scale=30.0).float()
    c = F.normalize(randn(gen, 10, 4), dim=1).float()
    tau = 0.01
    assert ref_uniform(z, tau).item() == -math.inf
    # k-JEM keeps its self-pairs, so only the off-diagonal terms vanish: both give -log n.
    assert kjem(c, z, tau).item() == pytest.approx(ref_joint_entropy(c, z, tau).item(), abs=1e-5)
    assert kjem(c, z, tau).item() == pytest.approx(-math.log(10), abs=1e-5)
    z.requires_grad_(True)
    value = uniformity(z, tau) + kjem(c, z, tau)
    assert torch.isfinite(value)
    value.backward()
    assert torch.isfinite(z.grad).all()
    # The stable value equals the exact log-mean-exp computed in float64 arithmetic.
    d = torch.pdist(z.detach().double()).pow(2) / (2 * tau)
    exact = -d.min() + torch.log(torch.exp(-(d - d.min())).mean())
    assert uniformity(z.detach().double(), tau).item() == pytest.approx(exact.item(), rel=1e-6)


# --- the other kernel independence terms ---------------------------------------------------


def ref_kmi(c, s, tau=TAU):
    n = len(c)
    total = 0.0
    for i in range(n):
        kc = [math.exp(-float((c[i] - c[j]).pow(2).sum()) / (2 * tau)) for j in range(n)]
        ks = [math.exp(-float((s[i] - s[j]).pow(2).sum()) / (2 * tau)) for j in range(n)]
        joint = sum(a * b for a, b in zip(kc, ks, strict=True)) / n
        total += math.log(joint / ((sum(kc) / n) * (sum(ks) / n)))
    return total / n


def ref_mmd(x, y):
    def k(a, b):
        d = float((a - b).pow(2).sum())
        return sum(math.exp(-(10.0**g) * d) for g in range(-6, 7))

    def mean_k(a, b):
        return sum(k(u, v) for u in a for v in b) / (len(a) * len(b))

    return max(mean_k(x, x) + mean_k(y, y) - 2 * mean_k(x, y), 0.0)


def test_kmi_matches_reference(gen):
    c = F.normalize(randn(gen, 12, 4), dim=1)
    s = randn(gen, 12, 3, scale=0.5)
    assert kmi(c, s).item() == pytest.approx(ref_kmi(c, s), rel=1e-5, abs=1e-6)


def test_kmi_is_zero_when_one_space_is_constant(gen):
    c = F.normalize(randn(gen, 10, 4), dim=1)
    assert kmi(c, torch.zeros(10, 3, dtype=torch.float64)).item() == pytest.approx(0.0, abs=1e-9)


def test_multi_kernel_mmd_matches_reference(gen):
    x, y = randn(gen, 7, 3, scale=0.3), randn(gen, 5, 3, scale=0.3) + 0.5
    assert multi_kernel_mmd(x, y).item() == pytest.approx(ref_mmd(x, y), rel=1e-5, abs=1e-9)
    assert multi_kernel_mmd(x, x).item() == pytest.approx(0.0, abs=1e-9)


def test_mmd_independence_compares_joint_with_shuffled_pairs(gen):
    c, s = randn(gen, 9, 2), randn(gen, 9, 2)
    torch.manual_seed(5)
    value = mmd_independence(c, s)
    torch.manual_seed(5)
    permutation = torch.randperm(9)
    expected = ref_mmd(torch.cat([c, s], 1), torch.cat([c, s[permutation]], 1))
    assert value.item() == pytest.approx(expected, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("name", ["k-jem", "k-mi", "mmd"])
def test_kernel_terms_rank_dependent_above_independent(gen, name):
    torch.manual_seed(0)
    c = randn(gen, 256, 2)
    dependent = c + 0.1 * randn(gen, 256, 2)
    independent = randn(gen, 256, 2)
    term = build_independence(name, 2, 2)
    assert term(c, dependent) > term(c, independent)


@pytest.mark.parametrize("name", ["k-jem", "k-mi", "mmd"])
def test_gradients_reach_both_spaces(gen, name):
    c = randn(gen, 32, 4).requires_grad_(True)
    s = (randn(gen, 32, 3) + c[:, :3].detach()).requires_grad_(True)
    build_independence(name, 4, 3)(F.normalize(c, dim=1), s).backward()
    assert c.grad.abs().sum() > 0 and s.grad.abs().sum() > 0


def test_none_adds_nothing(gen):
    heads = [randn(gen, 16, 4) for _ in range(4)]
    labels = torch.arange(16) % 2 == 0
    weights = SepCLRObjectiveSettings(independence=50.0)
    with_none, terms = sepclr_objective(
        (heads[0], heads[1]), (heads[2], heads[3]), labels, weights, "none"
    )
    without, _ = sepclr_objective(
        (heads[0], heads[1]),
        (heads[2], heads[3]),
        labels,
        SepCLRObjectiveSettings(independence=0.0),
    )
    torch.testing.assert_close(with_none, without)
    assert terms["independence"].item() == 0.0
