"""The one training plan of every trained method.

A method gives a :class:`TrainingModule`: its ``network`` and the loss of one batch, with
the adversaries (trained critics, the VAE's total-correlation discriminator) that the loss
feeds. :class:`TrainingPlan` owns everything around it: batches, the optimiser and its
learning-rate schedule, precision, channels-last, compilation, several processes,
adversary steps, checkpoints, a clean stop and progress (the epochs themselves are
:func:`sepclr.engine.loop.run_epochs`).
"""

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from sepclr.engine.checkpoint import Checkpointer, Progress
from sepclr.engine.distributed import (
    average_buffers,
    check_batch_size,
    distributed_model,
    rows_of_process,
    seed_views,
)
from sepclr.engine.loop import StopRequest, TrainingParts, run_epochs, split_batches
from sepclr.engine.performance import (
    DEFAULT_SPEED,
    StepSpeed,
    backend_settings,
    default_read_every,
    set_memory_format,
    warn_if_slow_precision,
)
from sepclr.engine.shard import SINGLE_PROCESS, Shard
from sepclr.errors import TrainingDivergedError

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
Forward = Callable[..., Any]
Terms = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Batch:
    """One step's rows on the training device.

    Parameters
    ----------
    x : Tensor
        The model input.
    is_target : Tensor
        Boolean: the target rows.
    shard : Shard
        The process's place in a split batch.
    rows : Tensor, optional
        The method's per-row side data (supervised SepCLR's known attributes).
    covariates : Tensor, optional
        The rows' encoded covariates (:class:`sepclr.methods.covariates.Covariates`).
    """

    x: torch.Tensor
    is_target: torch.Tensor
    shard: Shard = SINGLE_PROCESS
    rows: torch.Tensor | None = None
    covariates: torch.Tensor | None = None


class Adversary(nn.Module):
    """A module trained beside the network on what the loss showed it (a trained critic):
    it has its own optimisers and takes its steps after each step of the network.

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`torch.nn.Module`.
    """

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Every optimiser this module steps, by name (what a checkpoint must hold)."""
        raise NotImplementedError

    def renew_optimizers(self) -> None:
        """Forget the optimisers' state: the next step starts afresh."""
        raise NotImplementedError

    def train_pending(self) -> torch.Tensor | None:
        """Take the steps owed since the last call."""
        raise NotImplementedError


class TrainingModule(nn.Module):
    """The torch side of a trained method.

    ``network`` is what the plan optimises, wraps for several processes, compiles and puts
    in channels-last order; :meth:`loss` calls it only through ``forward`` (which adds
    those wrappers and autocast, and returns float32 outputs). :meth:`adversaries` names the
    critics the loss feeds: each takes its own steps on the codes it saw, after the
    network's step (:class:`Adversary`). With ``renews_optimizers``,
    every optimiser is created anew at each epoch.

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`torch.nn.Module`.
    """

    network: nn.Module
    renews_optimizers: bool = False

    def loss(self, batch: Batch, forward: Forward) -> tuple[torch.Tensor, Terms]:
        """The total loss of a batch and its named terms.

        Parameters
        ----------
        batch : Batch
            The batch's rows on the training device.
        forward : callable
            Runs ``network`` on its inputs, with the plan's wrappers and autocast.

        Returns
        -------
        loss : Tensor
            The total, a scalar.
        terms : dict of str to Tensor
            Each term, for the training log.
        """
        raise NotImplementedError

    def adversaries(self) -> Mapping[str, Adversary]:
        """The critics trained beside the network.

        Returns
        -------
        Mapping of str to Adversary
            Each critic by name (none by default).
        """
        return {}


@dataclass(frozen=True)
class TrainingData:
    """The rows a plan trains on.

    Parameters
    ----------
    inputs : Tensor
        The stored rows (uint8 images stay uint8).
    is_target : Tensor
        Boolean: the target rows.
    to_model_input : callable
        Turns a batch of stored rows into model input on the device.
    rows : Tensor, optional
        The per-row side data.
    covariates : Tensor, optional
        The rows' encoded covariates.
    """

    inputs: torch.Tensor
    is_target: torch.Tensor
    to_model_input: Callable[[torch.Tensor], torch.Tensor]
    rows: torch.Tensor | None = None
    covariates: torch.Tensor | None = None


@dataclass(frozen=True)
class TrainingPlan:
    """How a :class:`TrainingModule` is trained.

    Parameters
    ----------
    epochs : int
        Passes over shuffled batches.
    batch_size : int
        Rows per batch (the global batch under several processes).
    lr : float
        Adam's learning rate.
    device : torch.device
        Where training runs.
    lr_schedule : {"constant", "cosine"}
        The factor of the learning rate at each step (:func:`learning_rate_factor`).
    warmup : float
        The share of the steps with a linear warm-up.
    max_grad_norm : float, optional
        Clip the gradient norm to this value.
    speed : StepSpeed
        Precision, channels-last and compilation.
    read_every : int, optional
        How many steps the loss terms stay on the device between two reads (None:
        :func:`sepclr.engine.performance.default_read_every`).
    shard : Shard
        This process's place in a multi-process run; each process's views are then seeded
        from ``seed``, rank, epoch and step.
    seed : int
        The seed of those views.
    verbose : bool
        Show a progress bar.
    description : str
        The progress bar's label.
    make_optimizer : callable, optional
        ``make_optimizer(parameters)`` replaces Adam.
    """

    epochs: int
    batch_size: int
    lr: float
    device: torch.device
    lr_schedule: str = "constant"
    warmup: float = 0.0
    max_grad_norm: float | None = None
    speed: StepSpeed = DEFAULT_SPEED
    read_every: int | None = None
    shard: Shard = SINGLE_PROCESS
    seed: int = 0
    verbose: bool = True
    description: str = "training"
    make_optimizer: OptimizerFactory | None = None

    def run(
        self,
        module: TrainingModule,
        data: TrainingData,
        generator: torch.Generator,
        checkpointer: Checkpointer | None = None,
        resume: bool = False,
        stop: StopRequest | None = None,
    ) -> Progress:
        """Train ``module`` in place.

        A non-finite loss stops training with :class:`TrainingDivergedError`: before the
        optimiser step when the terms are read at every step (on a CPU), else at the next read.

        Parameters
        ----------
        module : TrainingModule
            The network and its loss.
        data : TrainingData
            The stored rows and how a batch of them becomes model input.
        generator : torch.Generator
            The random generator of the batch order.
        checkpointer : Checkpointer, optional
            Where checkpoints are written (see :func:`sepclr.engine.loop.run_epochs`).
        resume : bool
            Continue from the checkpoint.
        stop : StopRequest, optional
            The signal catcher.

        Returns
        -------
        Progress
            The mean of each loss term per epoch (``history``) and the training ``seconds``.
        """
        check_batch_size(self.batch_size, self.shard)
        warn_if_slow_precision(self.speed.precision, self.device)
        module.to(self.device)
        if self.speed.channels_last:
            set_memory_format(module.network, channels_last=True)
        read_every = self.read_every or default_read_every(self.device)
        stepper = _Stepper(self, module, data, check_each_step=read_every == 1)
        with backend_settings(self.device):
            plan = replace(self, read_every=read_every)
            progress = run_epochs(
                plan, stepper, len(data.inputs), generator, checkpointer, resume, stop
            )
        average_buffers(module.network, self.shard)
        return progress


class _Stepper:
    """One training step of a plan on a module, and what a checkpoint holds of it."""

    def __init__(
        self,
        plan: TrainingPlan,
        module: TrainingModule,
        data: TrainingData,
        check_each_step: bool = True,
    ) -> None:
        self.plan, self.module = plan, module
        self.data, self.stored = on_device_if_room(data, plan.device), data
        self.check_each_step = check_each_step
        model = distributed_model(module.network, plan.device, plan.shard)
        self.model = torch.compile(model) if plan.speed.compile else model
        self.scaler = plan.speed.scaler(plan.device)
        self.steps_per_epoch = len(split_batches(torch.arange(len(data.inputs)), plan.batch_size))
        self.parts = TrainingParts({"network": module.network, **module.adversaries()})
        self.renew_optimizers(0)

    def start_epoch(self, epoch: int) -> None:
        """New optimisers at each epoch for a module that asks for them."""
        if self.module.renews_optimizers:
            self.renew_optimizers(epoch)

    def renew_optimizers(self, epoch: int) -> None:
        del epoch
        factory = self.plan.make_optimizer or self._adam
        self.optimizer = factory(self.module.network.parameters())
        self.base_lrs = [group["lr"] for group in self.optimizer.param_groups]
        self.parts.optimizers = {"network": self.optimizer}
        for adversary in self.module.adversaries().values():
            if self.module.renews_optimizers:
                adversary.renew_optimizers()
            self.parts.optimizers |= adversary.optimizers()

    def _adam(self, parameters: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
        """Adam at the plan's learning rate; on a GPU its fused kernel (one launch per step
        for all parameters)."""
        fused = True if self.plan.device.type == "cuda" else None
        return torch.optim.Adam(parameters, lr=self.plan.lr, fused=fused)

    def forward(self, *inputs: torch.Tensor, **options: Any) -> Any:
        """The network on ``inputs`` (and keyword ``options``) under the plan's layout and
        autocast; float32 out."""
        speed = self.plan.speed
        if speed.channels_last:
            inputs = tuple(_channels_last(t) for t in inputs)
        with speed.autocast(self.plan.device):
            return _as_float32(self.model(*inputs, **options))

    def step(self, idx: torch.Tensor, epoch: int, index: int) -> Terms:
        plan, data = self.plan, self.data
        self.module.train()
        progress = (epoch * self.steps_per_epoch + index) / (plan.epochs * self.steps_per_epoch)
        factor = learning_rate_factor(progress, plan.lr_schedule, plan.warmup)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * factor
        if plan.shard.distributed:
            seed_views(plan.seed, plan.shard, epoch, index)
        idx = rows_of_process(idx, self.stored.is_target, plan.shard)
        on_data = to_device(idx, data.inputs.device)
        with torch.no_grad():
            x = data.to_model_input(to_device(data.inputs[on_data], plan.device))
        rows, covariates = (
            None if side is None else to_device(side[idx], plan.device)
            for side in (data.rows, data.covariates)
        )
        is_target = to_device(data.is_target[on_data], plan.device)
        batch = Batch(x, is_target, plan.shard, rows, covariates)
        loss, terms = self.module.loss(batch, self.forward)
        if self.check_each_step:
            ensure_finite(loss, terms, epoch, index)
        optimiser_step(self.optimizer, loss, plan.max_grad_norm, self.scaler)
        for name, adversary in self.module.adversaries().items():
            adversary_loss = adversary.train_pending()
            if adversary_loss is not None:
                terms[name] = adversary_loss
        return {"loss": loss, **terms, "lr": torch.tensor(self.optimizer.param_groups[0]["lr"])}


def on_device_if_room(data: TrainingData, device: torch.device) -> TrainingData:
    """``data`` with its stored rows and target mask moved to ``device`` once, when it is a
    GPU with room for them in a quarter of its free memory: batches are then gathered there,
    without a copy from the host at each step. Elsewhere ``data`` as it is.
    """
    if device.type != "cuda":
        return data
    free, _ = torch.cuda.mem_get_info(device)
    if data.inputs.numel() * data.inputs.element_size() > free // 4:
        return data
    return replace(data, inputs=data.inputs.to(device), is_target=data.is_target.to(device))


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``tensor`` on ``device``; from the host to a GPU through pinned memory, a copy that
    does not make the host wait for the GPU's queue (a copy from pageable memory does).
    """
    if tensor.device == device:
        return tensor
    if device.type == "cuda" and tensor.device.type == "cpu":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def _channels_last(tensor: Any) -> Any:
    """A batch of images in channels-last order; any other input as it is."""
    if isinstance(tensor, torch.Tensor) and tensor.ndim == 4:
        return tensor.contiguous(memory_format=torch.channels_last)
    return tensor


def _as_float32(out: Any) -> Any:
    """``out`` (a tensor or nested tuples of them) with half-precision tensors in float32."""
    if isinstance(out, torch.Tensor):
        return out.float() if out.dtype in (torch.float16, torch.bfloat16) else out
    if isinstance(out, tuple):
        parts = [_as_float32(part) for part in out]
        return type(out)(*parts) if hasattr(out, "_fields") else tuple(parts)
    return out


def learning_rate_factor(progress: float, schedule: str, warmup: float) -> float:
    """The multiplier of the base learning rate at ``progress`` (the fraction of training
    done, in [0, 1)): a linear warm-up over the first ``warmup`` fraction, then constant
    (``schedule="constant"``) or a cosine decay to 0 at the end (``"cosine"``).

    Examples
    --------
    >>> learning_rate_factor(0.5, "cosine", 0.0)
    0.5
    """
    if progress < warmup:
        return (progress + 1e-12) / warmup
    if schedule == "cosine":
        rest = (progress - warmup) / max(1.0 - warmup, 1e-12)
        return 0.5 * (1.0 + math.cos(math.pi * rest))
    return 1.0


def ensure_finite(loss: torch.Tensor, terms: Terms, epoch: int, step: int) -> None:
    """Raise :class:`TrainingDivergedError` naming the first non-finite term of ``terms`` if
    ``loss`` is NaN or infinite (before the optimiser step, so the weights stay finite).
    """
    if bool(torch.isfinite(loss)):
        return
    bad = [name for name, value in terms.items() if not bool(torch.isfinite(value))]
    culprit = (
        f"term {bad[0]!r} is {float(terms[bad[0]].detach())}" if bad else "the total is not finite"
    )
    raise TrainingDivergedError(
        f"the training loss became {float(loss.detach())} at epoch {epoch + 1}, step {step + 1}: "
        f"{culprit}. Lower lr or that term's weight, or set max_grad_norm to clip gradients."
    )


def optimiser_step(
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    max_grad_norm: float | None,
    scaler: torch.amp.GradScaler | None = None,
) -> None:
    """Backward pass, optional clipping of the global gradient norm, and one step (through
    the float16 gradient ``scaler`` when there is one).
    """
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
    else:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    if max_grad_norm is not None:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)
        scaler.update()
