"""Every independence term by its name in the paper's Table 1, behind one interface: a
callable of (c, s, shard) returning the penalty (a trained critic is a module that also trains
itself when called in training mode, see :mod:`sepclr.objectives.critics`)."""

from functools import partial
from typing import Protocol

import torch

from sepclr.objectives.critics import build_critic
from sepclr.objectives.independence import KERNEL_TERMS, independence_term
from sepclr.objectives.shard import SINGLE_PROCESS, Shard


class IndependencePenalty(Protocol):
    """A penalty of (c, s); with a split batch, of this process's rows and its shard."""

    def __call__(
        self, c: torch.Tensor, s: torch.Tensor, *, shard: Shard = SINGLE_PROCESS
    ) -> torch.Tensor: ...


CRITIC_TERMS = (
    "tc",
    *(
        f"{family}-{direction}"
        for family in ("vclub", "vl1out", "vub")
        for direction in ("sym", "c2s", "s2c")
    ),
)
ALIASES = {"vl1out": "vl1out-sym", "vub": "vub-sym"}
INDEPENDENCE_TERMS = (*KERNEL_TERMS, *CRITIC_TERMS, *ALIASES)


def build_independence(
    name: str,
    c_dim: int,
    s_dim: int,
    bandwidth: float = 0.5,
) -> IndependencePenalty:
    """The penalty called ``name`` (one of :data:`INDEPENDENCE_TERMS`) for codes of sizes
    ``c_dim`` and ``s_dim``; ``bandwidth`` is the tau of the kernel terms."""
    name = ALIASES.get(name, name)
    if name in KERNEL_TERMS:
        return partial(independence_term, name, bandwidth=bandwidth)
    if name in CRITIC_TERMS:
        return build_critic(name, c_dim, s_dim)
    raise ValueError(f"unknown independence term {name!r}; choose one of {INDEPENDENCE_TERMS}")
