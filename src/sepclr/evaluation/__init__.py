"""Probes, metrics, reports and plots."""

from sepclr.evaluation.metrics import delta_tot, ideal_scores
from sepclr.evaluation.probes import probe_balanced_accuracy
from sepclr.evaluation.report import ideal_row, markdown_table, probe_row

__all__ = [
    "delta_tot",
    "ideal_row",
    "ideal_scores",
    "markdown_table",
    "probe_balanced_accuracy",
    "probe_row",
]
