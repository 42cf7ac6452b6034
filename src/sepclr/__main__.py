"""``python -m sepclr``: the command-line interface."""

import sys

from sepclr.cli import main

sys.exit(main())
