"""The epoch loop every trained method runs: shuffled batches, per-epoch loss history,
progress bar, checkpoints, resumption, and a clean stop on SIGINT/SIGTERM."""

import math
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

import torch
from torch import nn
from tqdm.auto import tqdm

from sepclr.engine.checkpoint import Checkpointer, Progress
from sepclr.engine.shard import Shard
from sepclr.errors import (
    CheckpointError,
    SepCLRWarning,
    TrainingDivergedError,
    TrainingInterruptedError,
)

SECONDS = "seconds"  # the history's entry of an epoch's duration, not a mean over steps


def split_batches(order: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """Index batches along ``order``. The last incomplete batch is dropped when at least one
    full batch exists (batch-level terms are noisy on tiny batches).
    """
    n = len(order)
    if n <= batch_size:
        return [order]
    return list(order[: n - n % batch_size].split(batch_size))


@dataclass
class TrainingParts:
    """What a checkpoint holds besides the progress: named modules and optimisers (a method
    may replace an optimiser at each epoch).

    Parameters
    ----------
    modules : dict of str to nn.Module
        The modules.
    optimizers : dict of str to Optimizer
        Their optimisers.
    """

    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer] = field(default_factory=dict)


class StopRequest:
    """While entered (``with StopRequest() as stop``), SIGINT and SIGTERM only set
    ``stop.signal``; the loop then finishes its step, writes a checkpoint and raises
    :class:`TrainingInterruptedError`. A second signal of the same kind acts as usual.
    ``enabled=False`` installs nothing (without a checkpoint, Ctrl-C interrupts at once).
    Enabled inside another enabled one, it shares that one's ``signal``, which the outer code
    reads once the inner work is done.

    Parameters
    ----------
    enabled : bool
        Whether the signals are caught.
    """

    _installed: "StopRequest | None" = None

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._signal: str | None = None
        self._outer: StopRequest | None = None
        self._previous: dict[int, Any] = {}

    @property
    def signal(self) -> str | None:
        """The name of the signal received, if any."""
        return self._outer.signal if self._outer is not None else self._signal

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        del frame
        self._signal = signal.Signals(signum).name
        signal.signal(signum, self._previous[signum])

    def __enter__(self) -> "StopRequest":
        if not self.enabled:
            return self
        if StopRequest._installed is not None:
            self._outer = StopRequest._installed
        elif threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
            StopRequest._installed = self
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
        if StopRequest._installed is self:
            StopRequest._installed = None
        self._outer = None


class EpochSettings(Protocol):
    """What the loop reads of a training plan (:class:`sepclr.engine.training.TrainingPlan`)."""

    @property
    def epochs(self) -> int:
        """The number of epochs."""

    @property
    def batch_size(self) -> int:
        """Rows per batch."""

    @property
    def read_every(self) -> int | None:
        """Steps between two reads of the loss terms (None: every step)."""

    @property
    def shard(self) -> Shard:
        """This process's place in the run."""

    @property
    def verbose(self) -> bool:
        """Whether a progress bar is shown."""

    @property
    def description(self) -> str:
        """The progress bar's label."""


class Steps(Protocol):
    """What the loop runs: the training step, what a checkpoint holds (``parts``), and what
    happens before each epoch's first step."""

    parts: TrainingParts

    def step(self, rows: torch.Tensor, epoch: int, step: int) -> dict[str, torch.Tensor]:
        """The loss terms of one step on the stored ``rows``, ``"loss"`` among them."""
        ...

    def start_epoch(self, epoch: int) -> None:
        """Prepare ``epoch`` (for example, create the optimisers anew)."""
        ...


def run_epochs(
    plan: EpochSettings,
    steps: Steps,
    n_rows: int,
    generator: torch.Generator,
    checkpointer: Checkpointer | None = None,
    resume: bool = False,
    stop: StopRequest | None = None,
) -> Progress:
    """Run ``plan.epochs`` epochs of ``steps`` over shuffled batches of ``plan.batch_size``
    of ``n_rows`` rows.

    With a ``checkpointer``, a checkpoint is written every ``checkpointer.every`` epochs and
    after the last one; ``resume=True`` first restores the checkpoint (weights, optimisers,
    random states, position inside an epoch), so the run continues as if it had not
    stopped. When ``stop`` has caught a signal, the current step finishes, a checkpoint is
    written (with a checkpointer) and :class:`TrainingInterruptedError` is raised.

    The loss terms stay on the training device and are read (a host synchronisation on a
    GPU) every ``plan.read_every`` steps (1 when None) and at the end of each epoch; a
    non-finite loss found then raises :class:`TrainingDivergedError`, and a signal is acted
    on then.

    In a multi-process run (``plan.shard``), every process runs this loop with the same
    ``generator`` seed; the first process alone writes checkpoints and shows progress, every
    process reads the checkpoint to resume, and a signal caught by any process stops all of
    them at the same step.
    """
    runner = _EpochRunner(n_rows, plan, steps, generator, checkpointer)
    state = runner.restore() if resume and checkpointer else Progress()
    if resume and checkpointer:
        _check_resumed(state, plan.epochs, n_rows, plan.batch_size, checkpointer)
    runner.clock = time.perf_counter() - state.seconds
    history = list(state.history)
    bar = tqdm(
        range(state.epoch, plan.epochs),
        desc=plan.description,
        unit="epoch",
        disable=not plan.verbose or plan.shard.rank != 0,
        leave=True,
        initial=state.epoch,
        total=plan.epochs,
    )
    for epoch in bar:
        if epoch == state.epoch and state.step > 0 and state.order is not None:
            progress = Progress(epoch, state.step, state.order, dict(state.sums), history)
        else:
            steps.start_epoch(epoch)
            order = torch.randperm(n_rows, generator=generator)
            progress = Progress(epoch, 0, order, {}, history)
        epoch_terms = runner.run_epoch(progress, stop)
        history.append(epoch_terms)
        _warn_if_growing(history)
        bar.set_postfix(loss=f"{epoch_terms['loss']:.3g}")  # every term: history_, metrics.csv
        finished = epoch + 1
        if checkpointer and (finished % checkpointer.every == 0 or finished == plan.epochs):
            runner.save(Progress(finished, 0, None, {}, history))
    return Progress(plan.epochs, 0, None, {}, history, runner.seconds())


def _check_resumed(
    state: Progress, epochs: int, n_rows: int, batch_size: int, checkpointer: Checkpointer
) -> None:
    """Refuse a restored progress that this run cannot continue from."""
    batches = len(split_batches(torch.arange(n_rows), batch_size))
    problems = []
    if state.epoch > epochs or len(state.history) != state.epoch:
        problems.append(f"epoch {state.epoch} with {len(state.history)} epochs of history")
    order = state.order
    if state.step > 0 and (
        order is None or tuple(order.shape) != (n_rows,) or order.dtype != torch.int64
    ):
        problems.append(f"step {state.step} without the batch order of {n_rows} rows")
    if state.step >= batches:
        problems.append(f"step {state.step} of an epoch of {batches} batches")
    if problems:
        raise CheckpointError(
            f"{checkpointer.path} holds a training state this run cannot continue from "
            f"({'; '.join(problems)}); delete it to start over"
        )


class _EpochRunner:
    """The epochs of one run: their steps, checkpoints and resumption."""

    def __init__(
        self,
        n_rows: int,
        plan: EpochSettings,
        steps: Steps,
        generator: torch.Generator,
        checkpointer: Checkpointer | None,
    ) -> None:
        self.n_rows, self.batch_size, self.generator = n_rows, plan.batch_size, generator
        self.steps, self.checkpointer, self.shard = steps, checkpointer, plan.shard
        self.read_every, self.epochs = plan.read_every or 1, plan.epochs
        self.clock = time.perf_counter()

    def seconds(self) -> float:
        """Seconds spent training, earlier runs of a resumed one included."""
        return time.perf_counter() - self.clock

    def restore(self) -> Progress:
        assert self.checkpointer is not None
        checkpoint = self.checkpointer.read()
        document = checkpoint[0]
        if int(document["step"]) > 0:
            self.steps.start_epoch(int(document["epoch"]))  # the optimisers the step used
        parts = self.steps.parts
        return self.checkpointer.restore(
            parts.modules, parts.optimizers, self.generator, checkpoint
        )

    def save(self, progress: Progress) -> str:
        if self.checkpointer is None:
            return "no checkpoint directory was given, so nothing was saved"
        progress.seconds = self.seconds()
        path = self.checkpointer.path
        if self.shard.rank == 0:
            parts = self.steps.parts
            path = self.checkpointer.save(parts.modules, parts.optimizers, self.generator, progress)
        self.shard.barrier()
        return f"checkpoint written to {path}"

    def run_epoch(self, progress: Progress, stop: StopRequest | None) -> dict[str, float]:
        """The steps of ``progress.epoch`` from ``progress.step`` on; the mean of each term
        over the epoch's steps, and its ``seconds``."""
        assert progress.order is not None
        sums, steps = progress.sums, progress.step
        batches = split_batches(progress.order, self.batch_size)
        pending: dict[str, torch.Tensor] = {}
        first_pending = steps
        for step in range(progress.step, len(batches)):
            start = time.perf_counter()
            for key, value in self.steps.step(batches[step], progress.epoch, step).items():
                value = value.detach()
                pending[key] = pending[key] + value if key in pending else value
            steps += 1
            if steps % self.read_every == 0 or steps == len(batches):
                _read_terms(pending, sums, progress.epoch, (first_pending + 1, steps))
                pending, first_pending = {}, steps
                here = Progress(progress.epoch, steps, progress.order, sums, progress.history)
                self._stop_if_asked(stop, here)
            sums[SECONDS] = sums.get(SECONDS, 0.0) + time.perf_counter() - start
        means = {k: v / max(steps, 1) for k, v in sums.items() if k != SECONDS}
        return {**means, SECONDS: sums.get(SECONDS, 0.0)}

    def _stop_if_asked(self, stop: StopRequest | None, progress: Progress) -> None:
        """After a signal caught by any process: a checkpoint, then
        :class:`TrainingInterruptedError`."""
        if not self.shard.any(stop is not None and stop.signal is not None):
            return
        where = self.save(progress)
        cause = stop.signal if stop is not None and stop.signal else "a signal"
        done = progress.epoch
        raise TrainingInterruptedError(
            f"training stopped by {cause} at step {progress.step} of epoch {done + 1} of "
            f"{self.epochs} ({done} epochs complete); {where}",
            "fit again with resume=True to continue" if self.checkpointer else "",
        )


def _read_terms(
    pending: dict[str, torch.Tensor],
    sums: dict[str, float],
    epoch: int,
    steps: tuple[int, int],
) -> None:
    """Add the ``pending`` sums of the loss terms over ``steps`` (first and last, counted
    from 1) to ``sums``; raise :class:`TrainingDivergedError` if the loss is not finite."""
    read = {key: float(value) for key, value in pending.items()}
    if math.isfinite(read.get("loss", 0.0)):
        for key, value in read.items():
            sums[key] = sums.get(key, 0.0) + value
        return
    bad = [key for key, value in read.items() if not math.isfinite(value)]
    where = f"step {steps[1]}" if steps[0] == steps[1] else f"steps {steps[0]}-{steps[1]}"
    raise TrainingDivergedError(
        f"the training loss became {read['loss']} at epoch {epoch + 1}, {where}: "
        f"{', '.join(repr(b) for b in bad)} not finite. Lower lr or that term's weight, or "
        "set max_grad_norm to clip gradients."
    )


GROWTH_WARNING = 1000.0


def _warn_if_growing(history: list[dict[str, float]]) -> None:
    """Warn once when the loss has grown :data:`GROWTH_WARNING` times away from its first
    epoch's value (training that diverges slowly never becomes NaN)."""
    first, last = abs(history[0].get("loss", 0.0)), abs(history[-1].get("loss", 0.0))
    grown = first > 0 and last > GROWTH_WARNING * first
    if grown and not any(abs(h.get("loss", 0.0)) > GROWTH_WARNING * first for h in history[:-1]):
        warnings.warn(
            f"the training loss grew from {history[0]['loss']:.3g} to {history[-1]['loss']:.3g} "
            f"in {len(history)} epochs; lower lr, or clip gradients with max_grad_norm",
            SepCLRWarning,
            stacklevel=2,
        )
