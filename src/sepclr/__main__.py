"""``python -m sepclr``: the command-line interface."""

import sys

from sepclr.cli import main

if __name__ == "__main__":
    sys.exit(main())
