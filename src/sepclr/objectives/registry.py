"""Every independence term by its name in the paper's Table 1, behind one interface: a
callable of (c, s, shard) returning the penalty (a trained critic is a module that also trains
itself when called in training mode, see :mod:`sepclr.objectives.critics`). The terms register
themselves in :data:`sepclr.registry.TERMS`, in the order of the paper's Table 1.

>>> term = build_independence("k-jem", 2, 2)
>>> float(term(torch.zeros(3, 2), torch.zeros(3, 2)))
0.0
"""

import inspect
from typing import Protocol

import torch

from sepclr.engine.shard import SINGLE_PROCESS, Shard
from sepclr.errors import InvalidInputError
from sepclr.objectives import critics, independence
from sepclr.registry import TERMS

del critics, independence  # imported for their registrations

INDEPENDENCE_TERMS = tuple(TERMS)  # the project's own terms


class IndependencePenalty(Protocol):
    """A penalty of (c, s); with a split batch, of this process's rows and its shard."""

    def __call__(
        self, c: torch.Tensor, s: torch.Tensor, *, shard: Shard = SINGLE_PROCESS
    ) -> torch.Tensor: ...


def build_independence(
    name: str, c_dim: int, s_dim: int, bandwidth: float = 0.5
) -> IndependencePenalty:
    """The penalty called ``name`` (a term of ``sepclr.registry.TERMS``) for codes of sizes
    ``c_dim`` and ``s_dim``; ``bandwidth`` is the tau of the kernel terms.

    Parameters
    ----------
    name : str
        A registered term: one of :data:`INDEPENDENCE_TERMS`, or one registered since.
    c_dim, s_dim : int
        The sizes of the codes.
    bandwidth : float
        The tau of the kernel terms.

    Returns
    -------
    IndependencePenalty
        A callable of (c, s, shard), with its trained critic where it has one.
    """
    if name not in TERMS:
        raise InvalidInputError(
            f"unknown independence term {name!r}; choose one of {', '.join(TERMS)}"
        )
    build = TERMS[name].build
    settings = {"c_dim": c_dim, "s_dim": s_dim, "bandwidth": bandwidth}
    used = inspect.signature(build).parameters
    penalty: IndependencePenalty = build(**{k: v for k, v in settings.items() if k in used})
    return penalty
