"""A contrastive method as a scikit-learn transformer: ``fit(X, y)`` with ``y`` marking the
target rows, so that it fits in a :class:`sklearn.pipeline.Pipeline`."""

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone

from sepclr.errors import InvalidInputError


class ContrastiveTransformer(TransformerMixin, BaseEstimator):
    """Fit a contrastive method on rows marked background or target, and transform rows into
    their common and salient codes side by side.

    Parameters
    ----------
    method : ContrastiveEstimator
        The method (``sepclr.SepCLR(...)``, ``sepclr.CPCA(...)``, ...); a clone of it is
        fitted, as ``method_``.

    Examples
    --------
    >>> import numpy as np, sepclr
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(40, 4)), np.repeat([0, 1], 20)
    >>> pipeline = make_pipeline(
    ...     sepclr.ContrastiveTransformer(sepclr.CPCA(common_dim=2, salient_dim=2)),
    ...     LogisticRegression(),
    ... )
    >>> pipeline.fit(X, y).predict(X).shape
    (40,)
    """

    def __init__(self, method: Any) -> None:
        self.method = method

    def fit(self, X: Any, y: Any) -> "ContrastiveTransformer":
        """Fit a clone of ``method`` on the rows of ``X`` that ``y`` marks.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n, ...)
            The samples of both groups.
        y : array-like of bool or of 0 and 1, shape (n,)
            1 (or True) for a target row, 0 (or False) for a background row.

        Returns
        -------
        self
            The fitted transformer.
        """
        target = _target_rows(y, len(X))
        rows = X.iloc if hasattr(X, "iloc") else np.asarray(X)
        self.method_ = clone(self.method).fit(rows[~target], rows[target])
        common, salient = self.method_.transform(rows[:1])
        self.code_sizes_ = (common.shape[1], salient.shape[1])
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The codes of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n, ...)
            Samples like those of ``fit``.

        Returns
        -------
        ndarray of float32, shape (n, common_dim + salient_dim)
            The common code, then the salient code, of each row.
        """
        common, salient = self.method_.transform(X)
        return np.hstack([common, salient])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The names of the output columns.

        Parameters
        ----------
        input_features : ignored
            Kept for scikit-learn's signature.

        Returns
        -------
        ndarray of str
            ``common_0`` ..., then ``salient_0`` ...
        """
        names = [f"common_{k}" for k in range(self.code_sizes_[0])]
        return np.asarray(
            names + [f"salient_{k}" for k in range(self.code_sizes_[1])], dtype=object
        )


def _target_rows(y: Any, rows: int) -> np.ndarray:
    """``y`` as a boolean mask of target rows, checked in one line."""
    marks = np.asarray(y)
    if marks.shape != (rows,):
        raise InvalidInputError(
            f"y must mark each of the {rows} rows of X as target (1) or background (0); it has "
            f"shape {marks.shape}"
        )
    values = set(np.unique(marks).tolist())
    if not values <= {0, 1}:  # True and False are 1 and 0
        raise InvalidInputError(
            f"y must hold 0 (background) and 1 (target), not {sorted(values)[:5]}"
        )
    target = marks.astype(bool)
    if target.all() or not target.any():
        raise InvalidInputError("y must mark both background (0) and target (1) rows")
    return target
