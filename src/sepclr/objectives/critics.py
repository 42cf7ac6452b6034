"""Independence terms with a trained critic: variational MI upper bounds (vCLUB, vL1Out, vUB)
and the adversarial total-correlation penalty (TC).

Each critic is a small module with its own Adam optimiser (lr 1e-3 by default). Called on
(c, s) in training mode it returns its estimate and keeps the detached inputs;
:meth:`Critic.train_pending` then takes one critic step per kept batch. The training plan
(:class:`sepclr.engine.training.TrainingPlan`) calls it after each step of the network, so the
critic takes one step per view of the batch (two per step of SepCLR, which evaluates the
term on each view) and its estimates lag the network by one step. The critic is never
stepped while a graph that uses its parameters is alive. With a batch split across processes
(``shard``), every process evaluates and trains its critic on the gathered batch, so the
critics' copies take the same steps.
"""

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from sepclr.engine.shard import SINGLE_PROCESS, Shard
from sepclr.engine.training import Adversary
from sepclr.registry import register_term


class GaussianConditional(nn.Module):
    """``q(y | x) = N(mu(x), diag(exp(logvar(x))))`` with two-layer MLPs, ``tanh`` on the
    log-variance (the variational family of Cheng et al., ICML 2020).

    Parameters
    ----------
    x_dim, y_dim : int
        The sizes of ``x`` and ``y``.
    hidden : int
        The MLPs' hidden width.
    """

    def __init__(self, x_dim: int, y_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.mu = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, y_dim))
        self.logvar = nn.Sequential(
            nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, y_dim), nn.Tanh()
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The mean and log-variance of ``q(. | x)``."""
        return self.mu(x), self.logvar(x)

    def pairwise_log_likelihood(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``L[i, j] = log q(y_j | x_i)`` up to the constant ``-(d / 2) log 2 pi``; (n, n).

        The squares ``sum_d (y_jd - mu_id)^2 / var_id`` are expanded into three matrix
        products, so no (n, n, d) tensor is built.
        """
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


class Critic(Adversary):
    """Base class: ``estimate(c, s)`` is the penalty, ``critic_loss(c, s)`` trains the critic.

    Parameters
    ----------
    lr : float
        The learning rate of its Adam optimiser.
    """

    def __init__(self, lr: float = 1e-3) -> None:
        super().__init__()
        self.lr = lr
        self._optimizer: torch.optim.Optimizer | None = None
        self._pending: list[tuple[torch.Tensor, torch.Tensor]] = []

    def estimate(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """The penalty on a batch: an estimate of the dependence of ``c`` and ``s``."""
        raise NotImplementedError

    def critic_loss(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """The critic's training loss on a batch: what the critic minimises."""
        raise NotImplementedError

    def optimizer(self) -> torch.optim.Optimizer:
        """The critic's own Adam optimiser (created on first use, after ``.to(device)``)."""
        if self._optimizer is None:
            self._optimizer = torch.optim.Adam(self.parameters(), lr=self.lr)
        return self._optimizer

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Every optimiser this critic steps, by name (what a checkpoint must hold)."""
        return {"critic": self.optimizer()}

    def renew_optimizers(self) -> None:
        """Forget the optimisers' state: the next step starts a fresh Adam."""
        for module in self.modules():
            if isinstance(module, Critic):
                module._optimizer = None

    def step(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """One Adam step of the critic on detached ``c``, ``s``; returns its loss."""
        optimizer = self.optimizer()
        optimizer.zero_grad(set_to_none=True)
        with torch.enable_grad():
            loss = self.critic_loss(c.detach(), s.detach())
            loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    def forward(
        self, c: torch.Tensor, s: torch.Tensor, shard: Shard = SINGLE_PROCESS
    ) -> torch.Tensor:
        """The penalty on a batch, remembering the batch for the critic's next step."""
        c, s = shard.gather(c), shard.gather(s)
        if self.training and torch.is_grad_enabled():
            self._pending.append((c.detach(), s.detach()))
        return self.estimate(c, s)

    def train_pending(self) -> torch.Tensor | None:
        """One critic step on each batch of at least 2 rows seen since the last call, then
        forget them; returns the mean critic loss (None without a step).
        """
        losses = [self.step(c, s) for c, s in self._pending if len(c) > 1]
        self._pending.clear()
        return torch.stack(losses).mean() if losses else None


class _Directed(Critic):
    """A critic with ``q(s | c)`` (``c2s``) or ``q(c | s)`` (``s2c``).

    Parameters
    ----------
    c_dim, s_dim : int
        The sizes of the codes.
    direction : {"c2s", "s2c"}
        ``q(s | c)`` or ``q(c | s)``.
    lr : float
        The learning rate of the critic (Adam).
    """

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
    which form it uses)."""

    def estimate(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        x, y = self._xy(c, s)
        log_prior = -0.5 * y.pow(2).sum(dim=1)  # same dropped constant as log_likelihood
        return (self.q.log_likelihood(x, y) - log_prior).mean()


class Symmetric(Critic):
    """The ``-sym`` rows: the sum of the ``c2s`` and ``s2c`` estimates (this project's reading
    of the paper's "sym" rows of Table 1).

    Parameters
    ----------
    kind : type
        The one-way critic (:class:`VCLUB`, :class:`VL1Out` or :class:`VUB`).
    c_dim, s_dim : int
        The sizes of the codes.
    lr : float
        The learning rate of both critics.
    """

    def __init__(self, kind: type[_Directed], c_dim: int, s_dim: int, lr: float = 1e-3) -> None:
        super().__init__(lr)
        self.c2s = kind(c_dim, s_dim, "c2s", lr)
        self.s2c = kind(c_dim, s_dim, "s2c", lr)

    def forward(
        self, c: torch.Tensor, s: torch.Tensor, shard: Shard = SINGLE_PROCESS
    ) -> torch.Tensor:
        """The sum of both directions' penalties on a batch."""
        c, s = shard.gather(c), shard.gather(s)
        return self.c2s(c, s) + self.s2c(c, s)

    def estimate(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.c2s.estimate(c, s) + self.s2c.estimate(c, s)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Both directions' optimisers, by name."""
        return {"critic-c2s": self.c2s.optimizer(), "critic-s2c": self.s2c.optimizer()}

    def step(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """One Adam step of both directions' critics."""
        return self.c2s.step(c, s) + self.s2c.step(c, s)

    def train_pending(self) -> torch.Tensor | None:
        """One step of both critics on each batch seen since the last call."""
        losses = [self.c2s.train_pending(), self.s2c.train_pending()]
        kept = [loss for loss in losses if loss is not None]
        return torch.stack(kept).sum() if kept else None


class TotalCorrelation(Critic):
    """Adversarial total-correlation penalty (Kim & Mnih, ICML 2018), the TC term of the
    contrastive VAE (Abid & Zou 2019), of SepVAE and of SepCLR's Table 1 "TC" row.

    A discriminator ``D`` (MLP d -> d -> d -> 1, ReLU) learns by binary cross-entropy to
    tell joint samples ``[c_i, s_i]`` (label 1) from product-of-marginals samples
    ``[c_i, s_{i+1}]`` (label 0; :func:`shuffled_marginals`). The penalty is
    ``ReLU(logit D(z_i))`` on the joint samples, ``logit D = log D / (1 - D)`` being the
    density-ratio estimate of ``log q(z) / (q(z_c) q(z_s))``, clipped at 0 as in the SepVAE
    authors' code. ``reduction="sum"`` sums both over the batch, as that code does (the VAE
    baselines); ``"mean"`` averages, so the weight does not depend on the batch size
    (SepCLR).

    Parameters
    ----------
    c_dim, s_dim : int
        The sizes of the codes.
    lr : float
        The learning rate of the discriminator (Adam).
    reduction : {"mean", "sum"}
        How the penalty and the discriminator's loss combine the rows of a batch.
    """

    def __init__(self, c_dim: int, s_dim: int, lr: float = 1e-3, reduction: str = "mean") -> None:
        super().__init__(lr)
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction
        d = c_dim + s_dim
        self.discriminator = nn.Sequential(
            nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 1)
        )

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """The discriminator's logits (n,) for samples ``z = [c, s]``."""
        logits: torch.Tensor = self.discriminator(z).squeeze(1)
        return logits

    def critic_loss(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        joint = self.logits(torch.cat([c, s], dim=1))
        product = self.logits(shuffled_marginals(c, s))
        ones, zeros = torch.ones_like(joint), torch.zeros_like(product)
        return F.binary_cross_entropy_with_logits(
            joint, ones, reduction=self.reduction
        ) + F.binary_cross_entropy_with_logits(product, zeros, reduction=self.reduction)

    def estimate(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        penalty = F.relu(self.logits(torch.cat([c, s], dim=1)))
        return penalty.sum() if self.reduction == "sum" else penalty.mean()


def shuffled_marginals(c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Samples of the product of marginals ``q(c) q(s)``: ``[c_i, s_{i+1}]``, the salient
    codes rolled by one position in the batch (the permutation of Kim & Mnih 2018 as the
    SepVAE authors' code draws it).

    Examples
    --------
    >>> shuffled_marginals(torch.tensor([[0.0], [1.0]]), torch.tensor([[2.0], [3.0]])).tolist()
    [[0.0, 3.0], [1.0, 2.0]]
    """
    return torch.cat([c, s.roll(-1, dims=0)], dim=1)


def _register_family(family: str, kind: type[_Directed], aliases: tuple[str, ...]) -> None:
    """Register ``<family>-sym``, ``-c2s`` and ``-s2c`` (the paper's Table 1 rows)."""

    def symmetric(c_dim: int, s_dim: int) -> Critic:
        return Symmetric(kind, c_dim, s_dim)

    def one_way(direction: str) -> Callable[[int, int], Critic]:
        return lambda c_dim, s_dim: kind(c_dim, s_dim, direction)

    register_term(f"{family}-sym", trained=True, aliases=aliases)(symmetric)
    for direction in ("c2s", "s2c"):
        register_term(f"{family}-{direction}", trained=True)(one_way(direction))


_register_family("vclub", VCLUB, ())
_register_family("vl1out", VL1Out, ("vl1out",))
_register_family("vub", VUB, ("vub",))


@register_term("tc", trained=True)
def _tc_term(c_dim: int, s_dim: int) -> Critic:
    return TotalCorrelation(c_dim, s_dim)
