"""Batch-level terms over a batch split across processes.

With ``torch.distributed``, each process encodes its own rows of the global batch. Every
batch-level term (uniformity, s'-uniformity, k-JEM, k-MI, MMD, the critics' estimates) must
see all rows, with gradients. The convention of this project: each term computes its **global
value**, identical in every process, from the process's own rows against the all-gathered
batch, joined by collectives that carry gradients (:meth:`Shard.gather`, :meth:`Shard.sum`).
Backpropagating that value in every process gives each process ``world_size`` times the
gradient of the global value with respect to its own rows (every process's copy of the value
contributes once through the collectives); DistributedDataParallel's gradient *average*
divides that factor out, so the parameter update equals the one of a single process that holds
the whole batch. Without a process group, :data:`SINGLE_PROCESS` makes every collective the
identity.
"""

from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


class _GatherRows(torch.autograd.Function):
    """All processes' rows concatenated in rank order; the backward pass sums the gradients
    that every process computed for the whole gathered tensor and keeps this process's rows."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, group: Any) -> torch.Tensor:
        ctx.group = group
        ctx.rows = slice(dist.get_rank(group) * len(x), (dist.get_rank(group) + 1) * len(x))
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size(group))]
        dist.all_gather(parts, x.contiguous(), group=group)
        return torch.cat(parts)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
        return grad[ctx.rows], None


class _SumAcross(torch.autograd.Function):
    """The sum of a tensor over all processes; the gradient of a sum is summed the same way."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, group: Any) -> torch.Tensor:
        ctx.group = group
        out = x.clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM, group=group)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        grad = grad.clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
        return grad, None


@dataclass(frozen=True)
class Shard:
    """This process's part of a batch split across ``world_size`` processes of ``group``
    (the default group when None). Every process must hold the same number of rows, and call
    the same terms in the same order (the collectives wait for each other).

    Parameters
    ----------
    rank : int
        This process's rank in ``group``.
    world_size : int
        The number of processes.
    group : ProcessGroup, optional
        The process group (the default group when None).
    """

    rank: int = 0
    world_size: int = 1
    group: Any = None

    @classmethod
    def current(cls, group: Any = None) -> "Shard":
        """The shard of this process in ``group``, or :data:`SINGLE_PROCESS` when no process
        group is initialised or it has one process.
        """
        if not (dist.is_available() and dist.is_initialized()):
            return SINGLE_PROCESS
        world_size = dist.get_world_size(group)
        if world_size == 1:
            return SINGLE_PROCESS
        return cls(dist.get_rank(group), world_size, group)

    @property
    def distributed(self) -> bool:
        """Whether the batch is split across more than one process."""
        return self.world_size > 1

    def offset(self, rows: int) -> int:
        """Index, in the gathered batch, of this process's first row (``rows`` per process)."""
        return self.rank * rows

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """(world_size * n, ...) rows of every process in rank order, gradients kept."""
        if not self.distributed:
            return x
        return _GatherRows.apply(x, self.group)

    def gather_uneven(self, x: torch.Tensor) -> torch.Tensor:
        """Rows of every process in rank order, gradients kept, when the processes hold
        different numbers of rows (a group's rows of a batch): each is padded to the
        largest count for the collective.
        """
        if not self.distributed:
            return x
        count = torch.tensor(len(x), dtype=torch.int64, device=self._device())
        counts = [torch.zeros_like(count) for _ in range(self.world_size)]
        dist.all_gather(counts, count, group=self.group)
        sizes = [int(c) for c in counts]
        padding = x.new_zeros((max(sizes) - len(x), *x.shape[1:]))
        gathered = self.gather(torch.cat([x, padding]))
        keep = torch.cat([torch.arange(max(sizes)) < size for size in sizes])
        return gathered[keep.to(gathered.device)]

    def sum(self, x: torch.Tensor) -> torch.Tensor:
        """The sum of ``x`` over processes, gradients kept."""
        if not self.distributed:
            return x
        return _SumAcross.apply(x, self.group)

    def count(self, n: int) -> int:
        """A count summed over processes (no gradient)."""
        if not self.distributed:
            return int(n)
        total = torch.tensor(n, dtype=torch.int64, device=self._device())
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=self.group)
        return int(total)

    def any(self, flag: bool) -> bool:
        """True when ``flag`` is true in at least one process."""
        return self.count(int(flag)) > 0

    def permutation(self, n: int, device: torch.device) -> torch.Tensor:
        """A random permutation of ``range(n)`` drawn from torch's global generator of the
        first process and shared with the others.
        """
        permutation = torch.randperm(n, device=device)
        if self.distributed:
            first = 0 if self.group is None else dist.get_global_rank(self.group, 0)
            dist.broadcast(permutation, src=first, group=self.group)
        return permutation

    def barrier(self) -> None:
        """Wait until every process gets here."""
        if self.distributed:
            dist.barrier(self.group)

    def _device(self) -> torch.device:
        """Where this group's collectives take their tensors (NCCL: the current GPU)."""
        if dist.get_backend(self.group) == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")


SINGLE_PROCESS = Shard()
