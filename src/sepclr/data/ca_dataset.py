"""The value every dataset builder returns: a contrastive-analysis split."""

from dataclasses import dataclass, field

import numpy as np

from sepclr.data.cells import CellPreparation
from sepclr.errors import InvalidInputError


def check_split(split: str, allowed: tuple[str, ...] = ("train", "test")) -> None:
    """Refuse a split name outside ``allowed``."""
    if split not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise InvalidInputError(
            f"unknown split {split!r} for this dataset; choose one of {choices}"
        )


def in_group(column: np.ndarray, value: object) -> np.ndarray:
    """The rows of a group column equal to ``value``, compared as the column's own type: a
    numeric column with numbers (``0`` matches ``0``, ``0.0`` and ``"0"``), any other column
    with text.
    """
    column = np.asarray(column)
    if column.dtype.kind in "biuf" and not isinstance(value, bool):
        try:
            return column.astype(np.float64) == float(str(value))
        except ValueError:
            return np.zeros(len(column), dtype=bool)
    return column.astype(str) == str(value)


def stratified_groups(
    labels: np.ndarray, shares: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group (0 background, 1 target, alternately) and split (the index of its
    share), shuffled with seed 0 within each label, so that every group and split holds
    every label in the data's proportions.
    """
    rng = np.random.default_rng(0)
    group = np.empty(len(labels), dtype=np.int64)
    split = np.empty(len(labels), dtype=np.int64)
    edges = np.cumsum(shares)
    for value in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == value))
        group[rows] = np.arange(len(rows)) % 2
        for g in (0, 1):
            members = rows[group[rows] == g]
            position = np.arange(len(members)) / len(members)
            split[members] = np.searchsorted(edges, position, side="right")
    return group, split


def split_rows(is_target: np.ndarray, split: str, test_fraction: float) -> np.ndarray:
    """The rows of a split: ``test_fraction`` of each group goes to the test split, drawn with
    seed 0.
    """
    rng = np.random.default_rng(0)
    in_test = np.zeros(len(is_target), dtype=bool)
    for flag in (False, True):
        members = np.flatnonzero(is_target == flag)
        in_test[rng.permutation(members)[: round(test_fraction * len(members))]] = True
    return in_test if split == "test" else ~in_test


@dataclass(frozen=True)
class ProbeProtocol:
    """How a dataset's codes are probed (Louiset et al., ICLR 2024, Sec. 4 and its appendix;
    official code ``neurospin-projects/2024_rlouiset_sep_clr``).

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


@dataclass
class CADataset:
    """A contrastive-analysis split.

    Parameters
    ----------
    name : str
        The dataset.
    split : str
        ``"train"``, ``"validation"`` or ``"test"``.
    background, target : ndarray
        The two groups' samples, with the same trailing shape (images are float32
        (n, C, H, W) in [0, 1]).
    factors : dict of str to ndarray
        Each labelled factor's values over the target rows.
    roles : dict of str to str
        Whether each factor is ``"salient"`` (target only) or ``"common"`` (shared).
    background_factors : dict of str to ndarray
        The background rows' values, where known.
    label_names : dict of str to list of str
        For a factor of classes 0, 1, ..., the name of each class (the Fashion-MNIST class
        names, a table's text labels).
    subjects : tuple of ndarray, optional
        When rows are repeated measurements (a mouse measured 15 times), the subject of each
        (background, target) row: held-out rows should keep subjects whole.
    feature_names : list of str, optional
        The name of each feature of a table or of each gene, by which new samples are read.
    preparation : CellPreparation, optional
        For cells, how their expression was prepared (:mod:`sepclr.data.cells`), to prepare
        new cells the same way.
    salient_mask : ndarray of bool, optional
        Where each target's salient pattern lies, in the target's shape: the features that
        carry the salient factor, a digit's strokes, a lesion. Known only for datasets built
        with one, to check attributions (:func:`sepclr.explain`) against it.
    protocol : ProbeProtocol
        How its codes are probed (balanced accuracy of each factor by default).
    """

    name: str
    split: str
    background: np.ndarray
    target: np.ndarray
    factors: dict[str, np.ndarray]
    roles: dict[str, str]
    background_factors: dict[str, np.ndarray] = field(default_factory=dict)
    label_names: dict[str, list[str]] = field(default_factory=dict)
    subjects: tuple[np.ndarray, np.ndarray] | None = None
    feature_names: list[str] | None = None
    preparation: CellPreparation | None = None
    salient_mask: np.ndarray | None = None
    protocol: ProbeProtocol = field(default_factory=ProbeProtocol)

    def label_of(self, factor: str, value: object) -> str:
        """The name of a class of a factor.

        Parameters
        ----------
        factor : str
            The factor.
        value : object
            Its class.

        Returns
        -------
        str
            The class's name, or the value itself when the class has none.
        """
        names = self.label_names.get(factor, [])
        index = int(value) if isinstance(value, int | np.integer) else -1
        return names[index] if 0 <= index < len(names) else str(value)

    def covariates(self, names: list[str]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Common factors known in both groups, as the covariates ``fit`` takes: classes as
        their names (categorical), numbers with a fraction as they are (continuous).
        """
        known = [f for f in self.background_factors if f in self.factors]
        unknown = [name for name in names if name not in known]
        if unknown:
            has = ", ".join(known) if known else "none"
            raise InvalidInputError(
                f"{self.name} has no common factor {unknown[0]!r} known in both groups to use "
                f"as a covariate; it has {has}"
            )
        groups: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] = ({}, {})
        for name in names:
            pair = (self.background_factors[name], self.factors[name])
            for group, values in zip(groups, pair, strict=True):
                values = np.asarray(values)
                if np.issubdtype(values.dtype, np.floating):
                    group[name] = values
                else:
                    group[name] = np.asarray([self.label_of(name, v) for v in values], dtype=object)
        return groups

    def __post_init__(self) -> None:
        if np.shape(self.background)[1:] != np.shape(self.target)[1:]:
            raise InvalidInputError(
                f"{self.name}: background samples have shape {np.shape(self.background)[1:]} "
                f"but target samples {np.shape(self.target)[1:]}"
            )
        for group, labels, rows in (
            ("target", self.factors, len(self.target)),
            ("background", self.background_factors, len(self.background)),
        ):
            for factor, values in labels.items():
                if len(values) != rows:
                    raise InvalidInputError(
                        f"{self.name}: factor {factor!r} has {len(values)} labels for "
                        f"{rows} {group} samples; give one label per {group} sample"
                    )
        if self.salient_mask is not None and np.shape(self.salient_mask) != np.shape(self.target):
            raise InvalidInputError(
                f"{self.name}: salient_mask has shape {np.shape(self.salient_mask)}; give one "
                f"of the targets' shape, {np.shape(self.target)}"
            )
        unknown = sorted(set(self.roles) - set(self.factors))
        if unknown:
            raise InvalidInputError(f"{self.name}: roles name unknown factors {unknown}")
        bad = {f: r for f, r in self.roles.items() if r not in ("salient", "common")}
        if bad:
            raise InvalidInputError(f"{self.name}: roles must be 'salient' or 'common', got {bad}")
