"""Multi-process training on ``torch.distributed``: which rows each process takes, the
model wrapper, the random streams of the views, and the process group of ``torchrun``.

A run on N processes (``torchrun --nproc-per-node N``, or ``sepclr fit --devices N``) keeps
the global batch of ``batch_size`` rows: every process draws the same shuffled order (the
batch generator has the same seed everywhere), takes ``batch_size / N`` rows of each global
batch with the same share of target rows, and the loss terms see the whole batch through
:mod:`sepclr.engine.shard`. Gradients are averaged by DistributedDataParallel (NCCL on
GPUs, gloo on CPUs). On CUDA, BatchNorm layers become SyncBatchNorm for training, so the
statistics are those of the global batch; PyTorch's SyncBatchNorm does not run on CPUs, where
each process normalises with its own rows' statistics.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from sepclr.engine.shard import Shard
from sepclr.errors import InvalidInputError


def rows_of_process(batch: torch.Tensor, is_target: torch.Tensor, shard: Shard) -> torch.Tensor:
    """This process's rows of a global ``batch`` (row indices; ``is_target`` is indexed by
    them): the target rows, then the background rows, dealt in turn to the processes, so each
    process gets the same number of rows and the same number of targets up to one. Rows
    beyond a multiple of the number of processes are left out (the last backgrounds).
    """
    if not shard.distributed:
        return batch
    flags = is_target[batch]
    arranged = torch.cat([batch[flags], batch[~flags]])
    usable = len(arranged) - len(arranged) % shard.world_size
    return arranged[:usable][shard.rank :: shard.world_size]


AUTO_BATCH_MAX = 256
AUTO_BATCH_STEPS = 8


def resolve_batch_size(batch_size: int | str, n_rows: int, shard: Shard) -> int:
    """``batch_size``, or for ``"auto"``: 256 rows, or an eighth of the ``n_rows`` rows when
    that is smaller (so that an epoch of a small dataset still takes 8 steps), at least 2
    rows per process and a multiple of the number of processes.
    """
    if batch_size != "auto":
        return int(batch_size)
    rows = min(AUTO_BATCH_MAX, n_rows // AUTO_BATCH_STEPS)
    world = shard.world_size
    return max(2 * world, rows - rows % world)


def check_batch_size(batch_size: int, shard: Shard) -> None:
    """A global batch must split into equal parts of at least 2 rows per process."""
    if shard.distributed and (batch_size % shard.world_size or batch_size < 2 * shard.world_size):
        raise InvalidInputError(
            f"batch_size={batch_size} does not split into {shard.world_size} processes: it is "
            f"the global batch, so it must be a multiple of {shard.world_size} with at least 2 "
            "rows per process"
        )


def seed_views(seed: int, shard: Shard, epoch: int, step: int) -> None:
    """Seed torch's generators for one step of one process of a multi-process run, from
    (seed, rank, epoch, step): each process draws other views, and a resumed run draws the
    same ones as an uninterrupted run without saving every process's random state.
    """
    state = np.random.SeedSequence([seed, shard.rank, epoch, step]).generate_state(2)
    torch.manual_seed(int(state[0]) << 32 | int(state[1]))


def distributed_model(module: nn.Module, device: torch.device, shard: Shard) -> nn.Module:
    """``module`` itself in one process; else a DistributedDataParallel wrapper (which
    broadcasts the first process's weights and averages gradients), with SyncBatchNorm on
    CUDA. The wrapper shares its parameters and buffers with ``module``.
    """
    if not shard.distributed:
        return module
    if device.type == "cuda":
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module, process_group=shard.group)
    device_ids = [device.index] if device.type == "cuda" and device.index is not None else None
    return DistributedDataParallel(module, device_ids=device_ids, process_group=shard.group)


def average_buffers(module: nn.Module, shard: Shard) -> None:
    """Replace every floating-point buffer (BatchNorm running statistics) by its mean over
    the processes, so every process ends with the same model. DistributedDataParallel only
    broadcasts the first process's buffers before each forward pass, and the last pass
    updates each process's copy from its own rows.
    """
    if not shard.distributed:
        return
    with torch.no_grad():
        for buffer in module.buffers():
            if buffer.is_floating_point():
                dist.all_reduce(buffer, op=dist.ReduceOp.SUM, group=shard.group)
                buffer.div_(shard.world_size)


def process_device(device: torch.device, shard: Shard) -> torch.device:
    """Each process of a multi-process run on CUDA takes the GPU of its local rank."""
    if shard.distributed and device.type == "cuda" and device.index is None:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", shard.rank)))
    return device


def launched_by_torchrun() -> bool:
    """True inside a process started by ``torchrun`` (or ``torch.distributed.run``)."""
    return all(key in os.environ for key in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


@contextmanager
def process_group(timeout_s: float = 1800.0) -> Iterator[Shard]:
    """Join the process group that ``torchrun`` describes in the environment (NCCL when
    CUDA is available, else gloo) for the duration of the block, and yield this process's
    :class:`Shard`; outside ``torchrun``, yield the single-process shard and do nothing.
    """
    if not launched_by_torchrun() or dist.is_initialized():
        yield Shard.current()
        return
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    try:
        yield Shard.current()
        # every process done with its collectives before any tears the group down (a
        # process that exits while another's gloo threads still talk to it can abort)
        dist.barrier()
    finally:
        dist.destroy_process_group()
