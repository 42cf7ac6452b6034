"""How each of the paper's datasets is evaluated (Louiset et al., ICLR 2024, Sec. 4 and its
appendix; official code ``neurospin-projects/2024_rlouiset_sep_clr``): the metric of the class
probes, and whether a target-versus-background probe on all samples comes first, on the
representations or on the projector heads. Each dataset declares its protocol in
:data:`sepclr.registry.DATASETS`."""

from dataclasses import dataclass

from sepclr.registry import DATASETS


@dataclass(frozen=True)
class Protocol:
    """How a dataset is probed.

    Parameters
    ----------
    accuracy : bool
        Plain accuracy for class probes (Digits-on-CIFAR, Table 1) instead of balanced
        accuracy.
    group_probe : {"representation", "head"}, optional
        Adds ``S_group`` and ``C_group``, the balanced accuracy of telling targets from
        backgrounds on all test samples (ideal: 100 from S, 50 from C), from the
        representations or the projector heads (a method without heads uses its
        representations).
    """

    accuracy: bool = False
    group_probe: str | None = None


def protocol_for(dataset: str) -> Protocol:
    """The paper's protocol for a dataset.

    Examples
    --------
    >>> import sepclr
    >>> protocol_for("synthetic-brain")
    Protocol(accuracy=False, group_probe='representation')
    """
    info = DATASETS.get(dataset)
    if info is None:
        return Protocol()
    return Protocol(info.probe_accuracy, info.group_probe)
