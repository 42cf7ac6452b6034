"""The one registry of names: methods, independence terms and datasets.

Each is declared once, where it is defined: an estimator class with :func:`register_method`,
an independence term with :func:`register_term`, a dataset with :func:`register_dataset`.
The command line, the benchmarks, :func:`sepclr.load` and the documentation read
:data:`METHODS`, :data:`TERMS` and :data:`DATASETS`, which are complete once ``sepclr`` is
imported.

>>> import sepclr
>>> METHODS["sepclr"].label, METHODS["cpca"].cls.__name__
('SepCLR', 'CPCA')
>>> TERMS["vub"].alias_of
'vub-sym'
>>> DATASETS["digits-on-fashion"].sizes
('small', 'default', 'full')
"""

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class MethodInfo:
    """A registered method.

    Parameters
    ----------
    name : str
        Its command-line name.
    cls : type
        Its estimator class.
    label : str
        Its name in tables.
    baseline : bool
        Whether it is a row of ``sepclr bench --methods baselines``.
    """

    name: str
    cls: Any
    label: str
    baseline: bool


@dataclass(frozen=True)
class TermInfo:
    """An independence term of the paper's Table 1.

    Parameters
    ----------
    name : str
        Its name.
    build : callable
        Returns the penalty, a callable of ``(c, s, shard=...)``; it takes, by name, those
        of ``c_dim``, ``s_dim`` (the code sizes) and ``bandwidth`` (the kernels' tau) that
        it uses.
    trained : bool
        Whether the penalty is a critic that trains itself.
    alias_of : str, optional
        The term a short name stands for.
    """

    name: str
    build: Callable[..., Any]
    trained: bool = False
    alias_of: str | None = None


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset, declared in its own module of :mod:`sepclr.data.sets`.

    Parameters
    ----------
    name : str
        Its name (``--dataset``).
    build : callable
        ``build(split=..., root=..., **options)`` returns a
        :class:`sepclr.data.ca_dataset.CADataset` for ``split`` (``"train"``, ``"validation"``
        or ``"test"``), reading its files from the folder ``root`` first; its other keyword
        options, with their defaults and the numpydoc ``Parameters`` entries, are the
        dataset's options.
    description : str
        One line on what it is.
    how_to_get : str
        How a user gets its files.
    files : callable, optional
        ``files(root)`` lists its files and raises :class:`sepclr.errors.DataNotFoundError`
        when they are missing; None when it needs none.
    downloads : tuple of Resource
        The public resources (:class:`sepclr.data.resources.Resource`) ``sepclr download``
        fetches for it.
    path_options : tuple of str
        The options that name a file (a run stores them absolute).
    sizes : tuple of str
        Its named sizes (the ``size`` option), the benchmarks' default first.
    preset : str, optional
        The SepCLR recipe (:mod:`sepclr.recipes`) a run on this dataset uses when it names
        none (``"single-cell"`` for cells).
    """

    name: str
    build: Callable[..., Any]
    description: str
    how_to_get: str
    files: Callable[[str | Path | None], list[Path]] | None = None
    downloads: tuple[Any, ...] = ()
    path_options: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    preset: str | None = None


METHODS: dict[str, MethodInfo] = {}
TERMS: dict[str, TermInfo] = {}
DATASETS: dict[str, DatasetInfo] = {}


def register_method(name: str, label: str, baseline: bool = True) -> Callable[[C], C]:
    """Class decorator: register an estimator.

    Parameters
    ----------
    name : str
        Its name on the command line (``--method``) and in benchmarks.
    label : str
        Its name in tables.
    baseline : bool
        Whether ``sepclr bench --methods baselines`` includes it.

    Returns
    -------
    callable
        The decorator, which returns the class unchanged.
    """

    def register(cls: C) -> C:
        METHODS[name] = MethodInfo(name, cls, label, baseline)
        return cls

    return register


def register_term(
    name: str, trained: bool = False, aliases: tuple[str, ...] = ()
) -> Callable[[F], F]:
    """Decorator of a builder of a penalty, taking by name what it uses of ``c_dim``, ``s_dim``
    and ``bandwidth``: register an independence term.

    Parameters
    ----------
    name : str
        The term's name (``SepCLR(independence=name)``).
    trained : bool
        Whether the penalty has a critic trained beside the network.
    aliases : tuple of str
        Short names for it.

    Returns
    -------
    callable
        The decorator, which returns the builder unchanged.
    """

    def register(build: F) -> F:
        TERMS[name] = TermInfo(name, build, trained)
        for alias in aliases:
            TERMS[alias] = TermInfo(alias, build, trained, alias_of=name)
        return build

    return register


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    """Register a dataset.

    Parameters
    ----------
    info : DatasetInfo
        Its builder, description, files, downloads and evaluation protocol.

    Returns
    -------
    DatasetInfo
        ``info``.
    """
    DATASETS[info.name] = info
    return info


def method_by_class(cls_name: str) -> MethodInfo | None:
    """The registered method of an estimator class."""
    return next((m for m in METHODS.values() if m.cls.__name__ == cls_name), None)


def import_every_module(package: Any) -> list[str]:
    """Import every module of ``package``, so that each registers what it defines: a new
    method or dataset is then one new module, with no import list to keep.
    """
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__))
    for name in names:
        importlib.import_module(f"{package.__name__}.{name}")
    return names
