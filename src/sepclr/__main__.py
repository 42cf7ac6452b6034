"""``python -m sepclr``: the command-line interface."""

import os
import sys

from sepclr.cli import main
from sepclr.engine.distributed import launched_by_torchrun

if __name__ == "__main__":
    code = main()
    if launched_by_torchrun():
        # Every file is written and closed by now. A process of a multi-process run leaves
        # without the interpreter's teardown, during which gloo's threads can still abort it
        # (SIGABRT, "terminate called without an active exception") after a clean run.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
