"""The epoch loop run on a bare step function, for the tests of the loop itself."""

import torch

from sepclr.engine.loop import TrainingParts, run_epochs
from sepclr.engine.training import TrainingPlan


def run_step_function(step, n_rows, batch_size, epochs, read_every=1):
    """``run_epochs`` of the step function ``step`` alone (no modules, no optimiser)."""

    class Steps:
        parts = TrainingParts({})

        def step(self, rows, epoch, index):
            return step(rows, epoch, index)

        def start_epoch(self, epoch):
            del epoch

    cpu = torch.device("cpu")
    plan = TrainingPlan(epochs, batch_size, 0.0, cpu, read_every=read_every, verbose=False)
    return run_epochs(plan, Steps(), n_rows, torch.Generator())
