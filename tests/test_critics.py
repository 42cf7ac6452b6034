"""Trained-critic independence terms: estimates against plain references, ranking of dependent
and independent pairs once trained, gradients, and the training schedule."""

import math

import pytest
import torch
from torch.distributions import Normal

from sepclr.objectives import INDEPENDENCE_TERMS, build_independence
from sepclr.objectives.critics import VCLUB, VUB, Critic, TotalCorrelation, VL1Out
from sepclr.registry import TERMS

CRITIC_NAMES = [name for name, term in TERMS.items() if term.trained]


def correlated(n: int, rho: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    c = torch.randn(n, 2, generator=gen)
    noise = torch.randn(n, 2, generator=gen)
    return c, rho * c + math.sqrt(1 - rho**2) * noise


def log_q(critic, x_row, y_row):
    """log q(y | x) with its constant; the estimators drop the constant, which cancels."""
    mu, logvar = critic.q(x_row.unsqueeze(0))
    return float(Normal(mu[0], (0.5 * logvar[0]).exp()).log_prob(y_row).sum().detach())


def test_vclub_and_vl1out_match_plain_loops():
    torch.manual_seed(0)
    c, s = correlated(6, 0.8, 0)
    club, l1out = VCLUB(2, 2, "c2s"), VL1Out(2, 2, "c2s")
    n = len(c)
    expected_club = (
        sum(
            log_q(club, c[i], s[i]) - sum(log_q(club, c[i], s[j]) for j in range(n)) / n
            for i in range(n)
        )
        / n
    )
    assert club.estimate(c, s).item() == pytest.approx(expected_club, rel=1e-5, abs=1e-5)
    expected_l1out = (
        sum(
            log_q(l1out, c[i], s[i])
            - math.log(
                sum(math.exp(log_q(l1out, c[j], s[i])) for j in range(n) if j != i) / (n - 1)
            )
            for i in range(n)
        )
        / n
    )
    assert l1out.estimate(c, s).item() == pytest.approx(expected_l1out, rel=1e-5, abs=1e-5)


def test_vub_is_the_sampled_kl_to_the_standard_normal():
    torch.manual_seed(0)
    c, s = correlated(8, 0.5, 1)
    critic = VUB(2, 2, "s2c")
    prior = Normal(0.0, 1.0)
    expected = sum(log_q(critic, s[i], c[i]) - float(prior.log_prob(c[i]).sum()) for i in range(8))
    assert critic.estimate(c, s).item() == pytest.approx(expected / 8, rel=1e-5)


@pytest.mark.parametrize("name", CRITIC_NAMES)
def test_trained_critic_ranks_dependent_above_independent(name):
    estimates = {}
    for label, rho in (("dependent", 0.95), ("independent", 0.0)):
        torch.manual_seed(0)
        critic = build_independence(name, 2, 2)
        assert isinstance(critic, Critic)
        for step in range(300):
            c, s = correlated(256, rho, seed=step)
            critic.step(c, s)
        critic.eval()
        c, s = correlated(2048, rho, seed=10_000)
        with torch.no_grad():
            estimates[label] = critic(c, s).item()
    assert estimates["dependent"] > estimates["independent"]


@pytest.mark.parametrize("name", INDEPENDENCE_TERMS)
def test_gradients_reach_both_codes(name):
    torch.manual_seed(0)
    term = build_independence(name, 3, 2)
    c = torch.randn(32, 3, requires_grad=True)
    s = (0.5 * c[:, :2].detach() + torch.randn(32, 2)).requires_grad_(True)
    value = term(torch.nn.functional.normalize(c, dim=1), s)
    if name == "none":
        assert value.item() == 0.0
        return
    value.backward()
    assert c.grad.abs().sum() > 0 and s.grad.abs().sum() > 0


def test_critic_trains_on_pending_batches_only_when_asked():
    torch.manual_seed(0)
    critic = TotalCorrelation(2, 2)
    before = [p.detach().clone() for p in critic.parameters()]
    c, s = correlated(64, 0.9, 0)
    critic(c, s)
    critic(c, s)
    assert all(torch.equal(a, b) for a, b in zip(before, critic.parameters(), strict=True))
    critic.train_pending()
    assert not all(torch.equal(a, b) for a, b in zip(before, critic.parameters(), strict=True))
    assert critic._pending == []
    critic.eval()
    critic(c, s)
    assert critic._pending == []


def test_aliases_and_unknown_names():
    assert type(build_independence("vub", 2, 2)) is type(build_independence("vub-sym", 2, 2))
    with pytest.raises(ValueError, match="unknown independence term"):
        build_independence("vclub-x", 2, 2)
