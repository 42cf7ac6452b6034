"""Several training processes on this machine: ``sepclr fit --devices N`` runs the same
command again under ``torch.distributed.run`` (the module behind ``torchrun``), after the
checks that need one process only."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sepclr.engine.distributed import launched_by_torchrun
from sepclr.errors import SepCLRError, TrainingInterruptedError
from sepclr.methods.base import check_processes
from sepclr.run import method_class
from sepclr.run_folder import check_new_out


def fit_on_processes(
    run: dict[str, Any],
    out: str | Path,
    processes: int,
    argv: list[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
) -> bool:
    """Run the command ``sepclr ARGV`` again on several processes of this machine.

    The processes are started with ``torch.distributed.run``, the module behind
    ``torchrun``, after the checks that need one process only.

    Parameters
    ----------
    run : dict
        The run's settings.
    out : str or Path
        Its folder.
    processes : int
        How many processes.
    argv : list of str
        The command's arguments.
    resume : bool
        Whether the command resumes a run.
    overwrite : bool
        Whether it may replace a run in ``out``.

    Returns
    -------
    bool
        Whether the processes ran; False, doing nothing, where no new processes are needed
        (one process, or already under torchrun).
    """
    if processes < 1:
        raise SepCLRError(f"--devices is a number of processes, at least 1; got {processes}")
    if processes == 1 or launched_by_torchrun():
        return False
    if not resume:
        check_new_out(out, overwrite)
    check_processes(method_class(run["method"]), processes)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc-per-node={processes}", "-m", "sepclr", *argv]
    env = {"OMP_NUM_THREADS": "1", **os.environ}  # torchrun's own default, set to keep it quiet
    code = subprocess.run(command, env=env, check=False).returncode
    if code == 130:
        raise TrainingInterruptedError("the training processes were interrupted")
    if code != 0:
        raise SepCLRError(f"the {processes} training processes failed (exit code {code})")
    return True
