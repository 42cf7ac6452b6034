"""Public access to the contrastive-analysis datasets: ``sepclr.datasets.load(name, ...)``."""

from sepclr.data.catalog import DATASETS, CADataset, availability, load

__all__ = ["DATASETS", "CADataset", "availability", "load"]
