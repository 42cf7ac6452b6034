"""What a model's codes say about each sample, for the methods and everything above them:
the salient score, and the codes as named columns."""

import numpy as np


def salient_scores(salient: np.ndarray) -> np.ndarray:
    """Each sample's salient score: the distance of its salient code to ``s' = 0``.

    Parameters
    ----------
    salient : ndarray, shape (n, d)
        Salient codes.

    Returns
    -------
    ndarray, shape (n,)
        The Euclidean norm of each code.
    """
    return np.linalg.norm(np.asarray(salient, dtype=np.float64), axis=1)


def code_columns(
    common: np.ndarray, salient: np.ndarray, ids: tuple[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """The codes as named columns.

    Parameters
    ----------
    common, salient : ndarray, shape (n, d)
        The codes.
    ids : tuple of (str, ndarray), optional
        The identifier column's name and values.

    Returns
    -------
    dict of str to ndarray
        The identifier first, then ``common_k``, ``salient_k`` and ``salient_score``.

    Examples
    --------
    >>> import numpy as np
    >>> list(code_columns(np.zeros((3, 2)), np.ones((3, 1))))
    ['common_0', 'common_1', 'salient_0', 'salient_score']
    """
    columns = {} if ids is None else {ids[0]: np.asarray(ids[1])}
    columns |= {f"common_{k}": common[:, k] for k in range(common.shape[1])}
    columns |= {f"salient_{k}": salient[:, k] for k in range(salient.shape[1])}
    columns["salient_score"] = salient_scores(salient).astype(np.float32)
    return columns
