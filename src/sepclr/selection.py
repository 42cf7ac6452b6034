"""Label-free selection of SepCLR's settings: ``sepclr select`` and :func:`select`.

A user of contrastive analysis has no labels of the salient factor, which is what the
analysis looks for, so settings cannot be tuned on probes. :func:`select` trains a set of
named candidate settings (:data:`sepclr.recipes.CANDIDATES`: code sizes, the objective and
its correction, the main weights) on part of the user's rows, scores each on the held-out
rows with a criterion that uses no factor label (:func:`criterion`), ranks them, and refits
the best one on every row.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from sepclr.errors import InvalidInputError
from sepclr.evaluation.diagnostics import (
    Transformer,
    diagnostics_of_codes,
    encode_groups,
    held_out_r2,
)
from sepclr.methods.covariates import covariate_columns
from sepclr.methods.sepclr import SepCLR
from sepclr.recipes import CANDIDATES, Recipe


def _flat(x: Any) -> np.ndarray:
    """Samples as float64 rows (images and volumes flattened, uint8 scaled to [0, 1])."""
    array = np.asarray(x)
    rows = array.reshape(len(array), -1).astype(np.float64)
    return rows / 255.0 if array.dtype == np.uint8 else rows


def _inputs(train: tuple[Any, Any], held_out: tuple[Any, Any]) -> list[np.ndarray]:
    """The (background, target) rows of ``train`` and ``held_out`` as :func:`_flat` rows;
    table features standardised with the train rows' mean and deviation, as the models see
    them, so that no feature counts more for being in a larger unit (image and volume
    values are kept, where a pixel's variance is its share of the picture)."""
    rows = [_flat(x) for x in (*train, *held_out)]
    if np.asarray(train[0]).ndim != 2:
        return rows
    fitted = np.concatenate(rows[:2])
    mean, scale = fitted.mean(axis=0), fitted.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return [(r - mean) / scale for r in rows]


def selection_components(
    model: Transformer, train: tuple[Any, Any], held_out: tuple[Any, Any]
) -> dict[str, float]:
    """What :func:`criterion` combines, for a fitted ``model``.

    These are its :func:`sepclr.evaluation.diagnostics.label_free_diagnostics` on the rows of
    ``held_out``, and how much of the held-out inputs the codes explain linearly: the held-out
    R^2 of a ridge regression from the codes to the input, fitted on ``train`` (table
    features standardised). ``explained_background`` is from ``c`` on backgrounds,
    ``explained_target`` from ``(c, s)`` on targets, and ``explained_by_salient`` what ``s``
    adds to ``c`` there.

    Parameters
    ----------
    model : estimator
        A fitted model (anything with ``transform(x) -> (common, salient)``).
    train, held_out : tuple of array-like
        The (background, target) rows the maps are fitted on, and those they are scored on.

    Returns
    -------
    dict of str to float
        The diagnostics and the three ``explained_*`` values.
    """
    codes, codes_out = encode_groups(model, train), encode_groups(model, held_out)
    components = diagnostics_of_codes(codes, codes_out)
    ((c_bg, _), (c_tg, s_tg)), ((c_bg_out, _), (c_tg_out, s_tg_out)) = codes, codes_out
    x_bg, x_tg, x_bg_out, x_tg_out = _inputs(train, held_out)
    both, both_out = np.hstack([c_tg, s_tg]), np.hstack([c_tg_out, s_tg_out])
    common_only = held_out_r2(c_tg, x_tg, c_tg_out, x_tg_out)
    components["explained_background"] = held_out_r2(c_bg, x_bg, c_bg_out, x_bg_out)
    components["explained_target"] = held_out_r2(both, x_tg, both_out, x_tg_out)
    components["explained_by_salient"] = components["explained_target"] - common_only
    return components


def criterion(components: dict[str, float]) -> float:
    """The label-free score of a fitted candidate, higher is better:

    ``explained_by_salient - 2 |common_group_auc - 0.5| - max(r2_salient_from_common, 0)
    - max(r2_common_from_salient, 0)``

    It rewards a salient code that explains held-out targets beyond what the common code
    explains, and penalises a common code that tells the groups apart and two codes that
    predict each other. Chosen among seven such combinations as the one whose worst mean
    Spearman correlation with delta_TOT, over the validation splits of four benchmarks, was
    highest (``benchmarks/results/selection/criterion.md``).

    Parameters
    ----------
    components : dict of str to float
        What :func:`selection_components` returns.

    Returns
    -------
    float
        The score.
    """
    group_in_common = 2.0 * abs(components["common_group_auc"] - 0.5)
    repeated = max(components["r2_salient_from_common"], 0.0) + max(
        components["r2_common_from_salient"], 0.0
    )
    return components["explained_by_salient"] - group_in_common - repeated


@dataclass
class Selection:
    """What :func:`select` found.

    Parameters
    ----------
    ranking : list of dict
        One row per candidate, best first: ``name``, ``criterion``, its components averaged
        over the folds it was scored on, ``folds`` (their number), ``fit_seconds`` and
        ``params``.
    model : SepCLR
        The chosen candidate's model.
    refitted : bool
        Whether ``model`` was refitted on every row (else it is the model of one fold).
    folds : int
        The number of cross-validation folds (1: one held-out fifth).
    """

    ranking: list[dict[str, Any]]
    model: SepCLR
    refitted: bool
    folds: int

    @property
    def chosen(self) -> str:
        """The name of the best candidate."""
        return str(self.ranking[0]["name"])


def fold_of_rows(
    n: int, folds: int, rng: np.random.Generator, subjects: np.ndarray | None = None
) -> np.ndarray:
    """Each row's cross-validation fold, at random and as even as can be."""
    units = np.arange(n) if subjects is None else np.unique(subjects, return_inverse=True)[1]
    count = int(units.max()) + 1 if n else 0
    order = rng.permutation(count)
    fold_of_unit = np.empty(count, dtype=np.int64)
    if folds == 1:
        fold_of_unit[order] = np.where(np.arange(count) < max(1, round(0.2 * count)), 0, -1)
    else:
        fold_of_unit[order] = np.arange(count) % folds
    return fold_of_unit[units]


def _candidates(given: Sequence[str] | Sequence[Recipe] | None) -> list[Recipe]:
    """The candidates named in ``given`` (all of :data:`sepclr.recipes.CANDIDATES` when
    None), or the user's own :class:`Recipe` objects; at least two different ones."""
    if given is None:
        return list(CANDIDATES)
    own = [c for c in given if isinstance(c, Recipe)]
    names = [c.name if isinstance(c, Recipe) else str(c) for c in given]
    known = {c.name: c for c in (*CANDIDATES, *own)}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInputError(
            f"unknown candidate {', '.join(unknown)}; choose from {', '.join(known)}"
        )
    if len(set(names)) < 2:
        raise InvalidInputError("selection needs at least two different candidates")
    return [known[n] for n in dict.fromkeys(names)]


def _subjects(subjects: Any, rows: int) -> np.ndarray | None:
    if subjects is None:
        return None
    subjects = np.asarray(subjects)
    if subjects.shape != (rows,):
        raise InvalidInputError(
            f"subjects must give one subject per row: {rows} rows, got shape {subjects.shape}"
        )
    return subjects


def default_folds(n_background: int, n_target: int) -> int:
    """How many cross-validation folds :func:`select` uses by default."""
    return 3 if min(n_background, n_target) < 2_000 else 1


#: How many candidates :func:`select` keeps after scoring every one on the first fold; only
#: these are trained on the other folds.
SCREEN = 4


def select(
    background: Any,
    target: Any,
    candidates: Sequence[str] | Sequence[Recipe] | None = None,
    params: dict[str, Any] | None = None,
    folds: int | None = None,
    subjects: tuple[Any, Any] | None = None,
    seed: int = 0,
    refit: bool = True,
    log: Callable[[str], None] | None = None,
    evaluate: Callable[[SepCLR], dict[str, Any]] | None = None,
    covariates: tuple[Any, Any] | None = None,
    screen: int | None = SCREEN,
    progress: bool = False,
) -> Selection:
    """Choose SepCLR's settings for ``background`` and ``target`` without factor labels.

    Every candidate is trained on the rows outside the first fold and scored on that fold's
    rows by :func:`selection_components`. The ``screen`` best of them by :func:`criterion`
    are then trained and scored on each other fold too, their components averaged over the
    folds, and ranked by :func:`criterion` above the candidates screened out (ranked by
    their first fold).

    Parameters
    ----------
    background, target : array-like
        The two groups, as for :meth:`sepclr.SepCLR.fit`.
    candidates : list of str or of Recipe, optional
        Names from :data:`sepclr.recipes.CANDIDATES` (all of them by default), or
        :class:`sepclr.recipes.Recipe` objects of your own.
    params : dict, optional
        SepCLR parameters for every candidate (for example ``epochs`` or ``device``); a
        candidate's own settings take precedence.
    folds : int, optional
        Cross-validation folds of each group (at least 2), or 1 for a single held-out fifth
        of each group; None: :func:`default_folds`.
    subjects : (array-like, array-like), optional
        The subject of each background and of each target row, when rows are repeated
        measurements of subjects: a subject's rows are held out together.
    seed : int
        Seeds the folds and every candidate's training.
    refit : bool
        Refit the chosen candidate on every row (else keep its model of the first fold).
    log : callable, optional
        Called with one line per candidate scored on the first fold, and one per finalist.
    evaluate : callable, optional
        Called with each candidate's model of the first fold; what it returns is added to
        its row (the benchmarks record labelled probes there, to validate the criterion).
    covariates : (DataFrame or dict, DataFrame or dict), optional
        The background and target rows' covariates, given to every candidate's ``fit``.
    screen : int, optional
        How many candidates go on to the other folds (:data:`SCREEN`); None: every one.
    progress : bool
        Show a progress bar over the trainings, with the time left, on stderr.

    Returns
    -------
    Selection
        The ranking and the chosen model.
    """
    chosen = _candidates(candidates)
    if screen is not None and (isinstance(screen, bool) or int(screen) != screen or screen < 1):
        raise InvalidInputError(f"screen must be a whole number, at least 1; got {screen!r}")
    given = (background, target)
    background, target = np.asarray(background), np.asarray(target)
    folds = default_folds(len(background), len(target)) if folds is None else folds
    fold_bg, fold_tg = _fold_assignment(background, target, folds, subjects, seed)
    side = None if covariates is None else _covariate_columns(covariates, (background, target))
    trials = _Trials(
        {"verbose": False, **(params or {}), "seed": seed},
        (background, target),
        (fold_bg, fold_tg),
        side,
    )
    finalists = len(chosen) if screen is None or folds == 1 else min(int(screen), len(chosen))
    total = len(chosen) + finalists * (folds - 1) + int(refit)
    with tqdm(total=total, desc="select", unit="fit", disable=not progress) as bar:
        say = _logger(log)
        rows, first = _first_fold(trials, chosen, evaluate, bar, say, folds)
        ranked = sorted(chosen, key=lambda c: -rows[c.name]["criterion"])
        for candidate in ranked[finalists:]:
            del first[candidate.name]  # screened out: its model is not needed
        for candidate in ranked[:finalists] if folds > 1 else []:
            rows[candidate.name] = _other_folds(trials, rows[candidate.name], candidate, bar, folds)
            score = rows[candidate.name]["criterion"]
            say(f"{candidate.name}: criterion {score:.3f} over {folds} folds")
        order = sorted(first, key=lambda name: -rows[name]["criterion"])
        order += [c.name for c in ranked[finalists:]]
        model = first[order[0]]
        if refit:
            bar.set_postfix_str(f"refitting {order[0]}")
            say(f"refitting {order[0]} on every row")
            model = SepCLR(**model.get_params()).fit(*given, **_covariates_of(side, None))
            bar.update()
    return Selection([rows[name] for name in order], model, refit, folds)


def _first_fold(
    trials: "_Trials",
    chosen: list[Recipe],
    evaluate: Callable[[SepCLR], dict[str, Any]] | None,
    bar: Any,
    say: Callable[[str], None],
    folds: int,
) -> tuple[dict[str, dict[str, Any]], dict[str, SepCLR]]:
    """Every candidate's row on the first fold (with ``evaluate``'s additions), and its
    model."""
    rows, first = {}, {}
    for candidate in chosen:
        bar.set_postfix_str(f"{candidate.name}, fold 1")
        row, first[candidate.name] = trials.scored(candidate, 0)
        rows[candidate.name] = row | (evaluate(first[candidate.name]) if evaluate else {})
        bar.update()
        say(f"{candidate.name}: criterion {row['criterion']:.3f} on fold 1 of {folds}")
    return rows, first


def _other_folds(
    trials: "_Trials", row: dict[str, Any], candidate: Recipe, bar: Any, folds: int
) -> dict[str, Any]:
    """``row`` with the candidate's folds 2 to ``folds`` added."""
    for k in range(1, folds):
        bar.set_postfix_str(f"{candidate.name}, fold {k + 1}")
        row = trials.added(row, candidate, k)
        bar.update()
    return row


def _logger(log: Callable[[str], None] | None) -> Callable[[str], None]:
    """``log``, writing above the progress bar rather than through it."""

    def say(line: str) -> None:
        if log is not None:
            with tqdm.external_write_mode():
                log(line)

    return say


def _fold_assignment(
    background: np.ndarray,
    target: np.ndarray,
    folds: int,
    subjects: tuple[Any, Any] | None,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each background and each target row's fold (see :func:`fold_of_rows`), checked."""
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 1:
        raise InvalidInputError(f"folds must be a whole number, at least 1; got {folds!r}")
    if min(len(background), len(target)) < 2 * max(folds, 5):
        raise InvalidInputError(
            f"selection with {folds} fold(s) needs at least {2 * max(folds, 5)} rows in each "
            f"group; got {len(background)} background and {len(target)} target rows"
        )
    rng = np.random.default_rng(seed)
    bg_subjects, tg_subjects = (None, None) if subjects is None else subjects
    fold_bg = fold_of_rows(len(background), folds, rng, _subjects(bg_subjects, len(background)))
    fold_tg = fold_of_rows(len(target), folds, rng, _subjects(tg_subjects, len(target)))
    for group, fold in (("background", fold_bg), ("target", fold_tg)):
        if len(np.unique(fold)) < max(folds, 2):
            raise InvalidInputError(
                f"the {group} rows belong to too few subjects for {folds} fold(s); give fewer folds"
            )
    return fold_bg, fold_tg


class _Trials:
    """Recipes trained outside one fold and scored on it."""

    def __init__(
        self,
        common: dict[str, Any],
        groups: tuple[np.ndarray, np.ndarray],
        fold_of: tuple[np.ndarray, np.ndarray],
        covariates: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None,
    ) -> None:
        self.common, self.groups, self.fold_of, self.covariates = (
            common,
            groups,
            fold_of,
            covariates,
        )

    def fold(self, candidate: Recipe, k: int) -> tuple[dict[str, float], SepCLR, float]:
        """The components of ``candidate`` trained outside fold ``k`` and scored on it, its
        model and its training seconds."""
        (background, target), (fold_bg, fold_tg) = self.groups, self.fold_of
        train = (background[fold_bg != k], target[fold_tg != k])
        held_out = (background[fold_bg == k], target[fold_tg == k])
        side = _covariates_of(self.covariates, (fold_bg != k, fold_tg != k))
        start = time.perf_counter()
        model = SepCLR(**{**self.common, **candidate.params}).fit(*train, **side)
        seconds = time.perf_counter() - start
        return selection_components(model, train, held_out), model, seconds

    def scored(self, candidate: Recipe, k: int) -> tuple[dict[str, Any], SepCLR]:
        """The ranking row of ``candidate`` on fold ``k`` alone, and its model."""
        components, model, seconds = self.fold(candidate, k)
        row = {"name": candidate.name, "criterion": criterion(components), **components}
        return row | {"folds": 1, "fit_seconds": seconds, "params": candidate.params}, model

    def added(self, row: dict[str, Any], candidate: Recipe, k: int) -> dict[str, Any]:
        """``row`` with fold ``k`` added: its components averaged over the folds so far."""
        components, _, seconds = self.fold(candidate, k)
        n = int(row["folds"])
        mean = {key: (row[key] * n + value) / (n + 1) for key, value in components.items()}
        added = {**row, **mean, "folds": n + 1, "fit_seconds": row["fit_seconds"] + seconds}
        return added | {"criterion": criterion(mean)}


def _covariate_columns(
    covariates: tuple[Any, Any], groups: tuple[np.ndarray, np.ndarray]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Both groups' covariates as columns, checked for their number of rows."""
    names = ("background_covariates", "target_covariates")
    background, target = (
        covariate_columns(table, name, len(group))
        for table, name, group in zip(covariates, names, groups, strict=True)
    )
    return background, target


def _covariates_of(
    covariates: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None,
    rows: tuple[np.ndarray, np.ndarray] | None,
) -> dict[str, Any]:
    """``fit``'s covariate arguments for the rows ``rows`` (boolean masks; all rows: None)."""
    if covariates is None:
        return {}
    background, target = (
        {name: values if mask is None else values[mask] for name, values in group.items()}
        for group, mask in zip(covariates, rows or (None, None), strict=True)
    )
    return {"background_covariates": background, "target_covariates": target}


RANKING_COLUMNS = (
    "criterion",
    "explained_by_salient",
    "common_group_auc",
    "r2_salient_from_common",
    "r2_common_from_salient",
    "salient_auc",
)


def ranking_table(selection: Selection) -> str:
    """The ranking as a Markdown table."""
    lines = [
        "| rank | candidate | " + " | ".join(RANKING_COLUMNS) + " | folds | fit s | settings |",
        "|---|---|" + "---|" * (len(RANKING_COLUMNS) + 3),
    ]
    for rank, row in enumerate(selection.ranking, start=1):
        values = " | ".join(f"{row[c]:.3f}" for c in RANKING_COLUMNS)
        settings = ", ".join(f"{k}={v}" for k, v in row["params"].items())
        lines.append(
            f"| {rank} | {row['name']} | {values} | {row['folds']} | {row['fit_seconds']:.0f} "
            f"| {settings} |"
        )
    return "\n".join(lines)
