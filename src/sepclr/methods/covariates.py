"""Known nuisance factors (covariates) of each sample: acquisition site, sex, age, batch.

A user names them at ``fit`` (``background_covariates=``, ``target_covariates=``): a pandas
DataFrame or a dict of column name to 1-D array per group, with the same columns. A numeric
column is continuous; a column of text, booleans or a pandas category is categorical (give
integer codes as text, or as a category, to make them categorical). :class:`Covariates` is
what a fitted model keeps of them (names, kinds, categories, centring and scale) and how it
encodes them: a continuous covariate as one standardised column, a categorical one as one
indicator column per category.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sepclr.errors import InvalidInputError

CONTINUOUS, CATEGORICAL = "continuous", "categorical"


@dataclass(frozen=True)
class Covariate:
    """One covariate as a model knows it.

    Parameters
    ----------
    name : str
        Its column.
    kind : {"continuous", "categorical"}
        How it is encoded.
    categories : tuple of str
        A categorical covariate's categories, in their encoded order.
    mean, scale : float
        A continuous covariate's centring and scale.
    """

    name: str
    kind: str
    categories: tuple[str, ...] = ()
    mean: float = 0.0
    scale: float = 1.0

    @property
    def width(self) -> int:
        """The number of encoded columns."""
        return len(self.categories) if self.kind == CATEGORICAL else 1

    def encode(self, values: np.ndarray) -> np.ndarray:
        """This covariate's encoded columns: standardised, or one-hot over its categories."""
        if self.kind == CONTINUOUS:
            return ((values.astype(np.float64) - self.mean) / self.scale)[:, None].astype(
                np.float32
            )
        return (_labels(values)[:, None] == np.asarray(self.categories)[None, :]).astype(np.float32)


@dataclass(frozen=True)
class Covariates:
    """The covariates a model was fitted with.

    Parameters
    ----------
    columns : tuple of Covariate
        Each covariate, in the order of the encoded columns.
    """

    columns: tuple[Covariate, ...]

    @property
    def names(self) -> list[str]:
        """The covariates' names."""
        return [column.name for column in self.columns]

    @property
    def width(self) -> int:
        """The number of encoded columns."""
        return sum(column.width for column in self.columns)

    @property
    def degrees_of_freedom(self) -> int:
        """How many directions the covariates span once centred: one less than its
        categories for a categorical covariate, one for a continuous one."""
        return sum(max(column.width - (column.kind == CATEGORICAL), 1) for column in self.columns)

    def blocks(self) -> list[tuple[slice, str]]:
        """Each covariate's encoded columns and its kind."""
        out, start = [], 0
        for column in self.columns:
            out.append((slice(start, start + column.width), column.kind))
            start += column.width
        return out

    def encode(self, table: Any, group: str, rows: int) -> np.ndarray:
        """The encoded covariates of one group's samples.

        Parameters
        ----------
        table : DataFrame or dict of str to array-like
            The group's covariates, with this model's columns.
        group : str
            Its name in error messages.
        rows : int
            The group's number of samples.

        Returns
        -------
        ndarray of float32, shape (rows, width)
            The encoded covariates.

        Raises
        ------
        InvalidInputError
            For a missing column, another number of rows, a missing value, or a category the
            model has not seen.
        """
        columns = covariate_columns(table, f"{group}_covariates", rows)
        missing = [name for name in self.names if name not in columns]
        if missing:
            raise InvalidInputError(
                f"{group}_covariates has no column {missing[0]!r}; this model was fitted with "
                f"{', '.join(self.names)}"
            )
        parts = []
        for column in self.columns:
            values = columns[column.name]
            _refuse_missing(column.name, values, group, column.kind)
            if column.kind == CATEGORICAL:
                unseen = sorted(set(_labels(values)) - set(column.categories))
                if unseen:
                    raise InvalidInputError(
                        f"the covariate {column.name!r} takes {unseen[0]!r} in {group}_covariates, "
                        f"a category this model has not seen ({', '.join(column.categories)})"
                    )
            parts.append(column.encode(values))
        return np.concatenate(parts, axis=1)

    def as_json(self) -> list[dict[str, Any]]:
        """What ``config.json`` and ``run.json`` record.

        Returns
        -------
        list of dict
            Each covariate's name, kind and categories (or centring and scale).
        """
        out = []
        for column in self.columns:
            entry: dict[str, Any] = {"name": column.name, "kind": column.kind}
            if column.kind == CATEGORICAL:
                entry["categories"] = list(column.categories)
            else:
                entry |= {"mean": column.mean, "scale": column.scale}
            out.append(entry)
        return out

    @classmethod
    def from_json(cls, document: Any) -> "Covariates":
        """The covariates :meth:`as_json` recorded.

        Parameters
        ----------
        document : list of dict
            The record.

        Returns
        -------
        Covariates
            The covariates.

        Raises
        ------
        ValueError
            For a record that is not one.
        """
        if not isinstance(document, list) or not document:
            raise ValueError(f"covariates must be a non-empty list, got {document!r}")
        columns = []
        for entry in document:
            kind = entry.get("kind") if isinstance(entry, dict) else None
            if kind == CATEGORICAL:
                categories = tuple(str(c) for c in entry["categories"])
                columns.append(Covariate(str(entry["name"]), kind, categories))
            elif kind == CONTINUOUS:
                mean, scale = float(entry["mean"]), float(entry["scale"])
                if not (np.isfinite(mean) and np.isfinite(scale) and scale > 0):
                    raise ValueError(f"covariate {entry['name']!r} has an invalid scale")
                columns.append(Covariate(str(entry["name"]), kind, (), mean, scale))
            else:
                raise ValueError(f"a covariate record needs a kind, got {entry!r}")
        return cls(tuple(columns))


def covariate_columns(table: Any, name: str, rows: int) -> dict[str, np.ndarray]:
    """A group's covariates as 1-D arrays by column, checked for their number of rows."""
    if hasattr(table, "columns") and hasattr(table, "to_numpy"):
        columns = {
            str(c): table[c].astype(object).to_numpy()
            if str(table[c].dtype) == "category"
            else table[c].to_numpy()
            for c in table.columns
        }
    elif isinstance(table, Mapping):
        columns = {str(c): np.asarray(v) for c, v in table.items()}
    else:
        raise InvalidInputError(
            f"{name} must be a pandas DataFrame or a dict of column name to 1-D array, got "
            f"{type(table).__name__}"
        )
    if not columns:
        raise InvalidInputError(f"{name} has no columns; leave it out, or name some covariates")
    for column, values in columns.items():
        if values.ndim != 1 or len(values) != rows:
            raise InvalidInputError(
                f"{name}[{column!r}] has shape {values.shape}, but the group has {rows} "
                "samples; give one value per sample"
            )
    return columns


def fit_covariates(
    background: Any, target: Any, rows: tuple[int, int]
) -> tuple[Covariates, torch.Tensor] | None:
    """Check both groups' covariates and learn their encoding."""
    if background is None and target is None:
        return None
    if background is None or target is None:
        raise InvalidInputError(
            "give background_covariates and target_covariates together, with the same columns"
        )
    groups = {
        "background": covariate_columns(background, "background_covariates", rows[0]),
        "target": covariate_columns(target, "target_covariates", rows[1]),
    }
    only = sorted(set(groups["background"]) ^ set(groups["target"]))
    if only:
        side = "background" if only[0] in groups["background"] else "target"
        raise InvalidInputError(
            f"the covariate {only[0]!r} is given for the {side} group only; give both groups "
            "the same columns"
        )
    columns = tuple(
        _learn(name, groups["background"][name], groups["target"][name])
        for name in groups["background"]
    )
    covariates = Covariates(columns)
    encoded = np.concatenate(
        [covariates.encode(groups["background"], "background", rows[0]),
         covariates.encode(groups["target"], "target", rows[1])]
    )  # fmt: skip
    return covariates, torch.from_numpy(encoded)


def _learn(name: str, background: np.ndarray, target: np.ndarray) -> Covariate:
    """One covariate's kind and encoding from both groups' values, checked."""
    kind = _kind(background, target)
    for group, values in (("background", background), ("target", target)):
        _refuse_missing(name, values, group, kind)
    both = np.concatenate([background, target])
    if kind == CONTINUOUS:
        values = both.astype(np.float64)
        scale = float(values.std())
        if not scale > 1e-12 * max(1.0, float(np.abs(values).max())):
            raise InvalidInputError(
                f"the covariate {name!r} takes one value ({values[0]:g}) in every row: it "
                "explains nothing; leave it out"
            )
        return Covariate(name, kind, (), float(values.mean()), scale)
    labels = _labels(both)
    categories = tuple(sorted(set(labels.tolist())))
    if len(categories) < 2:
        raise InvalidInputError(
            f"the covariate {name!r} takes one value ({categories[0]!r}) in every row: it "
            "explains nothing; leave it out"
        )
    if len(categories) > len(both) / 10:
        raise InvalidInputError(
            f"the covariate {name!r} has {len(categories)} categories for {len(both)} rows (more "
            "than a tenth): too few rows per category to learn its effect; leave it out, or "
            "give it as a number"
        )
    for group, values, other in (
        ("target", target, background),
        ("background", background, target),
    ):
        alone = sorted(set(_labels(values).tolist()) - set(_labels(other).tolist()))
        if alone:
            raise InvalidInputError(
                f"the covariate {name!r} takes {alone[0]!r} in the {group} group only: its "
                "effect cannot be told from the difference between the groups; merge that "
                "category with another or leave its rows out"
            )
    return Covariate(name, kind, categories)


def _kind(background: np.ndarray, target: np.ndarray) -> str:
    """Numbers (not booleans) are continuous; text, booleans and categories are not."""
    numeric = all(
        np.issubdtype(v.dtype, np.number) and not np.issubdtype(v.dtype, np.bool_)
        for v in (background, target)
    )
    return CONTINUOUS if numeric else CATEGORICAL


def _labels(values: np.ndarray) -> np.ndarray:
    return np.asarray([str(v) for v in values], dtype=object)


def _refuse_missing(name: str, values: np.ndarray, group: str, kind: str) -> None:
    if kind == CONTINUOUS:
        try:
            missing = ~np.isfinite(values.astype(np.float64))
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"the covariate {name!r} mixes numbers and text in the {group} group; give "
                "numbers (continuous) or text (categorical)"
            ) from None
    else:
        missing = np.asarray([_is_missing(v) for v in values], dtype=bool)
    if missing.any():
        raise InvalidInputError(
            f"the covariate {name!r} is missing (empty or NaN) in {int(missing.sum())} "
            f"{group} row(s), e.g. row {int(np.flatnonzero(missing)[0])}; fill or drop them"
        )


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return not np.isfinite(value)
    text = str(value).strip()
    return text == "" or text in ("nan", "NaN", "<NA>", "None")
