"""Contrastive-analysis datasets: a background set, a target set and labelled factors.

``load(name, root=None, split="train", **options)`` returns a :class:`CADataset`. Every
dataset lives in its own module of :mod:`sepclr.data.sets`, which registers it in
:data:`sepclr.registry.DATASETS` with what the command line, the downloads and the probes
need to know of it; importing this module imports them all.
"""

import difflib
import inspect
from pathlib import Path
from typing import Any

from sepclr.data import sets
from sepclr.data.ca_dataset import CADataset
from sepclr.errors import DataNotFoundError, InvalidInputError
from sepclr.registry import DATASETS, import_every_module

__all__ = [
    "DATASETS",
    "CADataset",
    "availability",
    "checked_options",
    "dataset_options",
    "describe",
    "load",
]

import_every_module(sets)


def load(
    name: str, root: str | Path | None = None, split: str = "train", **options: Any
) -> CADataset:
    """Load the contrastive-analysis dataset ``name`` for ``split``.

    Parameters
    ----------
    name : str
        A dataset of :data:`sepclr.registry.DATASETS` (``sepclr datasets`` lists them).
    root : str or Path, optional
        A folder searched first for the dataset's files.
    split : {"train", "validation", "test"}
        The split; not every dataset has a validation split.
    **options
        Options of the dataset's builder (e.g. ``size="small"`` for digits-on-fashion).

    Returns
    -------
    CADataset
        The background and target samples and the labelled factors of the targets.

    Examples
    --------
    >>> from sepclr.datasets import load
    >>> data = load("synthetic-tabular", n=50)
    >>> data.background.shape, data.target.shape, sorted(data.factors)
    ((50, 20), (50, 20), ['salient', 'shared'])
    """
    _check_known(name)
    options = checked_options(name, options)
    listed = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    return DATASETS[name].build(split=split, root=root, **listed)


def _check_known(name: str) -> None:
    if name not in DATASETS:
        close = difflib.get_close_matches(str(name), list(DATASETS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        names = ", ".join(sorted(DATASETS))
        raise InvalidInputError(f"unknown dataset {name!r}{hint}; available: {names}")


def checked_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """A dataset's options, checked.

    Examples
    --------
    >>> checked_options("nifti-study", {"continuous": "age,sex", "categorical": ""})
    {'continuous': ['age', 'sex'], 'categorical': []}
    """
    defaults = {option: default for option, default, _ in dataset_options(name)}
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise InvalidInputError(
            f"{name} has no option {', '.join(unknown)}; its options are {', '.join(defaults)}"
        )
    parameters = inspect.signature(DATASETS[name].build).parameters
    checked = dict(options)
    for option, value in options.items():
        if "tuple[str" in str(parameters[option].annotation) and isinstance(value, str):
            checked[option] = [v.strip() for v in value.split(",") if v.strip()]
    return checked


def dataset_options(name: str) -> list[tuple[str, Any, str]]:
    """The options of a dataset's builder.

    Parameters
    ----------
    name : str
        The dataset.

    Returns
    -------
    list of tuple
        (option, default, meaning) for each option, the meaning read from the builder's
        numpydoc ``Parameters`` section (``""`` where it has none).

    Examples
    --------
    >>> [option for option, _, _ in dataset_options("synthetic-tabular")]
    ['n', 'features', 'seed', 'rotate']
    """
    build = DATASETS[name].build
    meanings = _parameter_docs(build.__doc__ or "")
    return [
        (option, parameter.default, meanings.get(option, ""))
        for option, parameter in inspect.signature(build).parameters.items()
        if option not in ("split", "root")
    ]


def _parameter_docs(doc: str) -> dict[str, str]:
    """Each parameter's description in a numpydoc ``Parameters`` section, joined on one
    line (entries such as ``a, b : str`` give both names the same text)."""
    lines = inspect.cleandoc(doc).splitlines()
    if "Parameters" not in lines:
        return {}
    docs: dict[str, str] = {}
    names: list[str] = []
    for line in lines[lines.index("Parameters") + 2 :]:
        if not line.strip():
            break
        if not line.startswith(" "):
            names = [n.strip() for n in line.split(" : ")[0].split(",")]
            docs |= dict.fromkeys(names, "")
        else:
            for n in names:
                docs[n] = (docs[n] + " " + line.strip()).strip()
    return docs


def availability(root: str | Path | None = None) -> list[tuple[str, str, str, str]]:
    """Every dataset and whether its files are here.

    Parameters
    ----------
    root : str or Path, optional
        A folder searched first.

    Returns
    -------
    list of tuple of str
        For each dataset: its name, its description, where its files are (or ``"missing"``),
        and how to get them.

    Examples
    --------
    >>> rows = {row[0]: row for row in availability()}
    >>> rows["synthetic-tabular"][2], rows["table-study"][2]
    ('built in', 'yours (see its options)')
    """
    rows = []
    for name, info in DATASETS.items():
        if info.files is None:
            generated = info.how_to_get.startswith("generated")
            where = "built in" if generated else "yours (see its options)"
        else:
            try:
                where = str(info.files(root)[0].parent)
            except DataNotFoundError:
                where = "missing"
        rows.append((name, info.description, where, info.how_to_get))
    return rows


def describe(name: str | None = None, root: str | Path | None = None) -> str:
    """What ``sepclr datasets [NAME]`` prints."""
    if name is not None:
        _check_known(name)
    lines = []
    for row, description, where, how in availability(root):
        if name in (None, row):
            lines += [row, f"  {description}", f"  files: {where}"]
            lines += [f"  how to get them: {how}"] if where == "missing" else []
    if name is not None:
        lines.append("  options (--dataset-option NAME=VALUE; lists as a,b,c):")
        for option, default, meaning in dataset_options(name):
            meaning = ": " + meaning.replace("``", "") if meaning else ""
            lines.append(f"    {option} (default {default!r}){meaning}")
    return "\n".join(lines)
