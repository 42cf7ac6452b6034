"""A run's training log in the formats other tools read: ``metrics.csv`` (one row per
epoch: every loss term, the epoch's seconds and its mean learning rate) and TensorBoard
event files."""

import csv
import io
from pathlib import Path

from sepclr.engine.files import write_text
from sepclr.errors import SepCLRError

METRICS_FILE = "metrics.csv"
TENSORBOARD_DIR = "tensorboard"


def metrics_csv(history: list[dict[str, float]]) -> str:
    """The history as CSV text: an ``epoch`` column (from 1), then every key of any epoch.

    Examples
    --------
    >>> print(metrics_csv([{"loss": 2.0, "seconds": 1.5}, {"loss": 1.0, "seconds": 1.25}]))
    epoch,loss,seconds
    1,2.0,1.5
    2,1.0,1.25
    <BLANKLINE>
    """
    keys = list(dict.fromkeys(key for epoch in history for key in epoch))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["epoch", *keys])
    for number, epoch in enumerate(history, start=1):
        writer.writerow([number, *(epoch.get(key, "") for key in keys)])
    return text.getvalue()


def write_metrics(folder: Path, history: list[dict[str, float]]) -> Path:
    """Write ``folder/metrics.csv`` (atomically)."""
    return write_text(folder / METRICS_FILE, metrics_csv(history))


def check_tensorboard() -> None:
    """Raise one line saying how to install TensorBoard when it is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError as exc:
        raise SepCLRError(
            "--tensorboard needs TensorBoard: pip install 'sepclr[tensorboard]'"
        ) from exc


def write_tensorboard(folder: Path, history: list[dict[str, float]]) -> Path:
    """Write every epoch's terms as TensorBoard scalars under ``folder/tensorboard``
    (``tensorboard --logdir folder/tensorboard`` shows them).
    """
    check_tensorboard()
    from torch.utils.tensorboard import SummaryWriter

    logdir = folder / TENSORBOARD_DIR
    with SummaryWriter(log_dir=str(logdir)) as writer:
        for number, epoch in enumerate(history, start=1):
            for key, value in epoch.items():
                writer.add_scalar(f"train/{key}", value, number)
    return logdir
