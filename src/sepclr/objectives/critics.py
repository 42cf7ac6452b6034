"""Independence terms with a trained critic: variational MI upper bounds (vCLUB, vL1Out, vUB)
and the adversarial total-correlation penalty (TC).

Each critic is a small module with its own Adam optimiser (lr 1e-3). Called on (c, s) in
training mode it returns its estimate and keeps the detached inputs; :meth:`Critic.train_pending`
then takes one critic step per kept batch. The training loop calls it before each encoder
step, so the critic takes one step per view of the previous batch (two per encoder step, as
SepCLR evaluates the term on each view) and its estimates lag the encoders by one step. The
critic is never stepped while a graph that uses its parameters is alive. With a batch split
across processes (``shard``), every process evaluates and trains its critic on the gathered
batch, so the critics' copies take the same steps.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from sepclr.objectives.shard import SINGLE_PROCESS, Shard


class GaussianConditional(nn.Module):
    """``q(y | x) = N(mu(x), diag(exp(logvar(x))))`` with two-layer MLPs, ``tanh`` on the
    log-variance (the variational family of Cheng et al., ICML 2020)."""

    def __init__(self, x_dim: int, y_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.mu = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, y_dim))
        self.logvar = nn.Sequential(
            nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, y_dim), nn.Tanh()
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mu(x), self.logvar(x)

    def pairwise_log_likelihood(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``L[i, j] = log q(y_j | x_i)`` up to the constant ``-(d / 2) log 2 pi``; (n, n).

        The squares ``sum_d (y_jd - mu_id)^2 / var_id`` are expanded into three matrix
        products, so no (n, n, d) tensor is built."""
        mu, logvar = self(x)
        precision = torch.exp(-logvar)
        squares = (
            precision @ y.pow(2).T
            - 2.0 * (mu * precision) @ y.T
            + (mu.pow(2) * precision).sum(dim=1, keepdim=True)
        )
        return -0.5 * (squares + logvar.sum(dim=1, keepdim=True))

    def log_likelihood(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``log q(y_i | x_i)`` up to the same constant; (n,)."""
        mu, logvar = self(x)
        return -0.5 * ((y - mu).pow(2) / logvar.exp() + logvar).sum(dim=1)


class Critic(nn.Module):
    """Base class: ``estimate(c, s)`` is the penalty, ``critic_loss(c, s)`` trains the critic."""

    def __init__(self, lr: float = 1e-3) -> None:
        super().__init__()
        self.lr = lr
        self._optimizer: torch.optim.Optimizer | None = None
        self._pending: list[tuple[torch.Tensor, torch.Tensor]] = []

    def estimate(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def critic_loss(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def optimizer(self) -> torch.optim.Optimizer:
        """The critic's own Adam optimiser (created on first use, after ``.to(device)``)."""
        if self._optimizer is None:
            self._optimizer = torch.optim.Adam(self.parameters(), lr=self.lr)
        return self._optimizer

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Every optimiser this critic steps, by name (what a checkpoint must hold)."""
        return {"critic": self.optimizer()}

    def step(self, c: torch.Tensor, s: torch.Tensor) -> None:
        """One Adam step of the critic on detached ``c``, ``s``."""
        optimizer = self.optimizer()
        optimizer.zero_grad(set_to_none=True)
        with torch.enable_grad():
            self.critic_loss(c.detach(), s.detach()).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def forward(
        self, c: torch.Tensor, s: torch.Tensor, shard: Shard = SINGLE_PROCESS
    ) -> torch.Tensor:
        c, s = shard.gather(c), shard.gather(s)
        if self.training and torch.is_grad_enabled():
            self._pending.append((c.detach(), s.detach()))
        return self.estimate(c, s)

    def train_pending(self) -> None:
        """One critic step on each batch seen since the last call, then forget them."""
        for c, s in self._pending:
            self.step(c, s)
        self._pending.clear()


class _Directed(Critic):
    """A critic with ``q(s | c)`` (``c2s``) or ``q(c | s)`` (``s2c``)."""

    def __init__(self, c_dim: int, s_dim: int, direction: str, lr: float = 1e-3) -> None:
        super().__init__(lr)
        if direction not in ("c2s", "s2c"):
            raise ValueError(f"direction must be 'c2s' or 's2c', got {direction!r}")
        self.direction = direction
        x_dim, y_dim = (c_dim, s_dim) if direction == "c2s" else (s_dim, c_dim)
        self.q = GaussianConditional(x_dim, y_dim)

    def _xy(self, c: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (c, s) if self.direction == "c2s" else (s, c)

    def critic_loss(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of the positive pairs (maximum-likelihood fit of q)."""
        x, y = self._xy(c, s)
        return -self.q.log_likelihood(x, y).mean()


class VCLUB(_Directed):
    """vCLUB (Cheng et al., ICML 2020), with ``(x, y)`` = ``(c, s)`` or ``(s, c)``:

    ``I(x; y) <= (1/n) sum_i [ log q(y_i | x_i) - (1/n) sum_j log q(y_j | x_i) ]``
    """

    def estimate(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        x, y = self._xy(c, s)
        pairs = self.q.pairwise_log_likelihood(x, y)
        return (pairs.diagonal() - pairs.mean(dim=1)).mean()


class VL1Out(_Directed):
    """Variational leave-one-out bound (Poole et al., ICML 2019; Cheng et al., ICML 2020):

    ``(1/n) sum_i [ log q(y_i | x_i) - log (1/(n-1)) sum_{j != i} q(y_i | x_j) ]``
    """

    def estimate(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        x, y = self._xy(c, s)
        pairs = self.q.pairwise_log_likelihood(x, y)  # [j, i] = log q(y_i | x_j)
        n = len(x)
        others = pairs.masked_fill(torch.eye(n, dtype=torch.bool, device=x.device), float("-inf"))
        leave_one_out = torch.logsumexp(others, dim=0) - math.log(n - 1)
        return (pairs.diagonal() - leave_one_out).mean()


class VUB(_Directed):
    """Variational upper bound (Alemi et al., ICLR 2017; Poole et al., ICML 2019), with the
    standard normal as variational marginal:

    ``I(x; y) <= E_x KL(q(y | x) || N(0, I))``, estimated on the batch's own pairs as
    ``(1/n) sum_i [ log q(y_i | x_i) - log N(y_i; 0, I) ]``.

    The CLUB repository's ``VarUB`` uses the closed-form KL, ``(1/2) sum_d (mu^2 + sigma^2 - 1
    - log sigma^2)``, which depends on ``x`` only, so one of the two encoders would get no
    gradient from the term; the sample form above has the same expectation when ``q`` fits
    ``p(y | x)`` and reaches both encoders (this project's choice; the paper does not say
    which form it uses).
    """

    def estimate(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        x, y = self._xy(c, s)
        log_prior = -0.5 * y.pow(2).sum(dim=1)  # same dropped constant as log_likelihood
        return (self.q.log_likelihood(x, y) - log_prior).mean()


class Symmetric(Critic):
    """The ``-sym`` rows: the sum of the ``c2s`` and ``s2c`` estimates (this project's reading
    of the paper's "sym" rows of Table 1)."""

    def __init__(self, kind: type[_Directed], c_dim: int, s_dim: int, lr: float = 1e-3) -> None:
        super().__init__(lr)
        self.c2s = kind(c_dim, s_dim, "c2s", lr)
        self.s2c = kind(c_dim, s_dim, "s2c", lr)

    def forward(
        self, c: torch.Tensor, s: torch.Tensor, shard: Shard = SINGLE_PROCESS
    ) -> torch.Tensor:
        c, s = shard.gather(c), shard.gather(s)
        return self.c2s(c, s) + self.s2c(c, s)

    def estimate(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.c2s.estimate(c, s) + self.s2c.estimate(c, s)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"critic-c2s": self.c2s.optimizer(), "critic-s2c": self.s2c.optimizer()}

    def step(self, c: torch.Tensor, s: torch.Tensor) -> None:
        self.c2s.step(c, s)
        self.s2c.step(c, s)

    def train_pending(self) -> None:
        self.c2s.train_pending()
        self.s2c.train_pending()


class TotalCorrelation(Critic):
    """Adversarial total-correlation penalty (Kim & Mnih, ICML 2018; used by the contrastive
    VAE of Abid & Zou 2019 and by SepVAE). A discriminator ``D`` (MLP d -> d -> d -> 1) learns
    to tell joint samples ``[c_i, s_i]`` from product-of-marginals samples
    ``[c_i, s_{i+1}]`` (s rolled by one row); the encoders minimise
    ``(1/n) sum_i ReLU(log D(z_i) / (1 - D(z_i)))`` on the joint samples (the official code
    sums over the batch; the mean keeps the weight independent of the batch size)."""

    def __init__(self, c_dim: int, s_dim: int, lr: float = 1e-3) -> None:
        super().__init__(lr)
        d = c_dim + s_dim
        self.discriminator = nn.Sequential(
            nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 1)
        )

    def _logits(self, c: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        joint = self.discriminator(torch.cat([c, s], dim=1)).squeeze(1)
        product = self.discriminator(torch.cat([c, s.roll(1, dims=0)], dim=1)).squeeze(1)
        return joint, product

    def critic_loss(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        joint, product = self._logits(c, s)
        return F.binary_cross_entropy_with_logits(
            joint, torch.ones_like(joint)
        ) + F.binary_cross_entropy_with_logits(product, torch.zeros_like(product))

    def estimate(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        logits = self.discriminator(torch.cat([c, s], dim=1)).squeeze(1)
        return F.relu(logits).mean()


def build_critic(name: str, c_dim: int, s_dim: int) -> Critic:
    """The critic for a Table 1 row name: ``tc``, ``vclub-sym|c2s|s2c``, ``vl1out-...``,
    ``vub-...`` (``vl1out`` and ``vub`` alone mean ``-sym``)."""
    if name == "tc":
        return TotalCorrelation(c_dim, s_dim)
    family, _, direction = name.partition("-")
    kinds: dict[str, type[_Directed]] = {"vclub": VCLUB, "vl1out": VL1Out, "vub": VUB}
    if family not in kinds or direction not in ("", "sym", "c2s", "s2c"):
        raise ValueError(f"no critic called {name!r}")
    if direction in ("", "sym"):
        return Symmetric(kinds[family], c_dim, s_dim)
    return kinds[family](c_dim, s_dim, direction)
