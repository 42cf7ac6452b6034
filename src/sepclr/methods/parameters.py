"""Declared estimator parameters: each is written once, with its default, its constraint and
its meaning, in the spirit of scikit-learn's ``_parameter_constraints``.

A class body declares ``name = Param(default, constraint, "meaning")``; the estimator base
class builds ``__init__`` (its signature lists every declared parameter, so scikit-learn's
``get_params``, ``set_params`` and ``clone`` work), checks every value at ``fit`` with
:func:`check_params`, and appends a numpydoc ``Parameters`` section to the class docstring.

>>> class Example:
...     size = Param(3, Integer(minimum=1), "How many.")
>>> Integer(minimum=1).describe()
'int >= 1'
>>> check_params(Example(), {"size": Example.size})
"""

import difflib
import inspect
import math
import numbers
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from sepclr.errors import InvalidInputError

T = TypeVar("T")


class Constraint:
    """A rule a parameter value must follow; :meth:`check` raises
    :class:`sepclr.errors.InvalidInputError` naming the parameter."""

    def check(self, name: str, value: Any) -> None:
        """Check a value."""
        raise NotImplementedError

    def describe(self) -> str:
        """The type as a numpydoc ``Parameters`` entry shows it."""
        raise NotImplementedError


@dataclass(frozen=True)
class Number(Constraint):
    """A real number in ``[minimum, maximum]`` (bounds excluded where ``open_*``), never a
    bool, never NaN or infinite.

    Parameters
    ----------
    minimum, maximum : float, optional
        The bounds.
    open_minimum, open_maximum : bool
        Whether each bound is excluded.
    integer : bool
        Whole numbers only.
    """

    minimum: float | None = None
    maximum: float | None = None
    open_minimum: bool = False
    open_maximum: bool = False
    integer: bool = False

    def check(self, name: str, value: Any) -> None:
        kind = numbers.Integral if self.integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kind):
            what = "an integer" if self.integer else "a number"
            raise InvalidInputError(f"{name} must be {what}, got {_short(value)}")
        number = int(value) if isinstance(value, numbers.Integral) else float(value)
        if (isinstance(number, float) and not math.isfinite(number)) or not self._inside(number):
            raise InvalidInputError(f"{name} must be {self._bounds()}, got {_short(value)}")

    def _inside(self, value: float | int) -> bool:
        low, high = self.minimum, self.maximum
        above = low is None or (value > low if self.open_minimum else value >= low)
        below = high is None or (value < high if self.open_maximum else value <= high)
        return above and below

    def _bounds(self) -> str:
        def shown(bound: float) -> str:
            return str(int(bound)) if self.integer else f"{bound:g}"

        parts = []
        if self.minimum is not None:
            parts.append(f"{'>' if self.open_minimum else '>='} {shown(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"{'<' if self.open_maximum else '<='} {shown(self.maximum)}")
        return " and ".join(parts) or "finite"

    def describe(self) -> str:
        kind = "int" if self.integer else "float"
        return f"{kind} {self._bounds()}" if self._bounds() != "finite" else kind


def Integer(minimum: int | None = None, maximum: int | None = None) -> Number:  # noqa: N802
    """A whole number in ``[minimum, maximum]``."""
    return Number(minimum, maximum, integer=True)


def _short(value: Any) -> str:
    """``repr(value)``, cut to 40 characters (a number of 400 digits is not shown)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


POSITIVE = Number(0.0, open_minimum=True)
SEED = Integer(0, 2**32 - 1)  # the range of numpy's and scikit-learn's integer seeds
NON_NEGATIVE = Number(0.0)


@dataclass(frozen=True)
class Choice(Constraint):
    """One of a collection of strings, read when a value is checked (a registry's names
    include those registered later); an unknown one gets the closest valid name suggested.

    Parameters
    ----------
    options : collection of str
        The valid strings.
    """

    options: Collection[str]

    def check(self, name: str, value: Any) -> None:
        check_choice(name, value, self.options)

    def describe(self) -> str:
        return "{" + ", ".join(repr(o) for o in self.options) + "}"


@dataclass(frozen=True)
class OfType(Constraint):
    """Any value of Python type ``kind`` (``bool`` takes ``True`` or ``False``, not 0 or 1),
    described as ``what`` in errors.

    Parameters
    ----------
    kind : type
        The type.
    what : str
        How errors name it.
    """

    kind: type
    what: str

    def check(self, name: str, value: Any) -> None:
        if not isinstance(value, self.kind):
            raise InvalidInputError(f"{name} must be {self.what}, got {value!r}")

    def describe(self) -> str:
        return self.kind.__name__


BOOLEAN = OfType(bool, "True or False")
TEXT = OfType(str, "a string")


@dataclass(frozen=True)
class Either(Constraint):
    """A value that follows any of ``constraints``; the error is the last one's.

    Parameters
    ----------
    constraints : tuple of Constraint
        The alternatives.
    """

    constraints: tuple[Constraint, ...]

    def check(self, name: str, value: Any) -> None:
        for constraint in self.constraints[:-1]:
            try:
                constraint.check(name, value)
                return
            except InvalidInputError:
                continue
        self.constraints[-1].check(name, value)

    def describe(self) -> str:
        return " or ".join(c.describe() for c in self.constraints)


@dataclass(frozen=True)
class Exactly(Constraint):
    """One literal value (``None``, ``"auto"``).

    Parameters
    ----------
    value : object
        The literal.
    """

    value: Any

    def check(self, name: str, value: Any) -> None:
        if value != self.value or type(value) is not type(self.value):
            raise InvalidInputError(f"{name} must be {self.value!r}, got {value!r}")

    def describe(self) -> str:
        return repr(self.value)


def optional(constraint: Constraint) -> Either:
    """``None`` or a value that follows ``constraint``."""
    return Either((Exactly(None), constraint))


@dataclass(frozen=True)
class Rule(Constraint):
    """A constraint written as a function that raises :class:`InvalidInputError`.

    Parameters
    ----------
    test : callable
        ``test(name, value)`` raises :class:`InvalidInputError` for a bad value.
    description : str
        The type as the Parameters section shows it.
    """

    test: Callable[[str, Any], None]
    description: str

    def check(self, name: str, value: Any) -> None:
        self.test(name, value)

    def describe(self) -> str:
        return self.description


class Param(Generic[T]):
    """A declared estimator parameter. Read on an instance, it gives the instance's value.

    Parameters
    ----------
    default : object
        Its default value.
    constraint : Constraint
        What values it accepts, checked at ``fit``.
    doc : str
        Its meaning, written into the class's numpydoc ``Parameters`` section.
    """

    def __init__(self, default: T, constraint: Constraint, doc: str) -> None:
        self.default = default
        self.constraint = constraint
        self.doc = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> "Param[T]": ...

    @overload
    def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object | None, owner: type) -> "T | Param[T]":
        if instance is None:
            return self
        value: T = instance.__dict__.get(self.name, self.default)
        return value

    def __set__(self, instance: object, value: T) -> None:
        instance.__dict__[self.name] = value


def declared(estimator_class: type) -> dict[str, Param[Any]]:
    """The parameters declared by ``estimator_class`` and its bases, base classes' first; a
    subclass's declaration replaces its base's in place.
    """
    params: dict[str, Param[Any]] = {}
    for klass in reversed(estimator_class.__mro__):
        params.update({k: v for k, v in vars(klass).items() if isinstance(v, Param)})
    return params


def check_params(estimator: object, params: dict[str, Param[Any]]) -> None:
    """Check every declared parameter's value on ``estimator`` against its constraint."""
    for name, param in params.items():
        param.constraint.check(name, getattr(estimator, name))


def parameters_section(params: dict[str, Param[Any]]) -> str:
    """A numpydoc ``Parameters`` section listing ``params`` with their types and defaults."""
    lines = ["", "    Parameters", "    ----------"]
    for name, param in params.items():
        lines.append(f"    {name} : {param.constraint.describe()}, default={param.default!r}")
        lines.extend(f"        {line}" for line in _wrap(param.doc))
    return "\n".join(lines) + "\n"


def _wrap(text: str, width: int = 84) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``, else an error suggesting the closest one."""
    options = list(choices)
    if value in options:
        return str(value)
    close = difflib.get_close_matches(str(value), options, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise InvalidInputError(f"unknown {name} {value!r}{hint} Valid: {', '.join(options)}")


_SECTIONS_AFTER_PARAMETERS = ("\n    Attributes\n", "\n    Notes\n", "\n    Examples\n")


POSITIONAL = ("common_dim", "salient_dim")  # the only parameters also taken by position


def initialiser(params: dict[str, Param[Any]]) -> Any:
    """An ``__init__`` taking ``params`` with their defaults: the code sizes by position or
    name, every other parameter by name only (as scikit-learn's estimators do).
    """
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(name, _kind(name), default=p.default)
            for name, p in sorted(params.items(), key=lambda item: item[0] not in POSITIONAL)
        ]
    )

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    return __init__


def _kind(name: str) -> Any:
    if name in POSITIONAL:
        return inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Parameter.KEYWORD_ONLY


def with_parameters_section(doc: str, params: dict[str, Param[Any]]) -> str:
    """``doc`` with a numpydoc ``Parameters`` section before its later sections."""
    doc = inspect.cleandoc(doc).replace("\n", "\n    ")
    doc = "\n    ".join(line.rstrip() for line in doc.split("\n    "))
    section = parameters_section(params)
    positions = [doc.find(s) for s in _SECTIONS_AFTER_PARAMETERS if s in doc]
    at = min(positions) if positions else len(doc)
    return doc[:at].rstrip() + "\n" + section + doc[at:]
