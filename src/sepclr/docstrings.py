"""Parameter text that sibling functions share, written once and filled into their numpydoc
``Parameters`` sections."""

import inspect
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])

SHARED = {
    "c": "c : Tensor\n    The common codes, (n, d_c).",
    "s": "s : Tensor\n    The salient codes, (n, d_s).",
    "is_target": "is_target : Tensor\n    Boolean (n,): the target rows.",
    "bandwidth": "bandwidth : float\n    The tau of the kernel.",
    "shard": "shard : Shard\n    This process's rows of a split batch.",
}
_SECTIONS = ("Returns", "Yields", "Raises", "Warns", "See Also", "Notes", "Examples")


def shared_parameters(function: F) -> F:
    """Give ``function`` the shared text of each of its parameters that its docstring's
    ``Parameters`` section leaves out, in the order of its signature."""
    lines = inspect.cleandoc(function.__doc__ or "").splitlines()
    start = lines.index("Parameters") if "Parameters" in lines else None
    if start is None:
        start = next((i for i, line in enumerate(lines) if line in _SECTIONS), len(lines))
        gap = [""] if start and lines[start - 1].strip() else []
        after = [""] if start < len(lines) else []
        lines[start:start] = [*gap, "Parameters", "----------", *after]
        start += len(gap)
    end = next((i for i in range(start + 2, len(lines)) if not lines[i].strip()), len(lines))
    own: dict[str, list[str]] = {}
    described: set[str] = set()
    for line in lines[start + 2 : end]:
        if not line.startswith(" "):
            names = [name.strip() for name in line.split(" : ")[0].split(",")]
            described.update(names)
            entry = own.setdefault(names[0], [])
        entry.append(line)
    entries = []
    for name in inspect.signature(function).parameters:
        if name in own:
            entries += own.pop(name)
        elif name not in described and name in SHARED:
            entries += SHARED[name].splitlines()
    entries += [line for rest in own.values() for line in rest]
    function.__doc__ = "\n".join([*lines[: start + 2], *entries, *lines[end:]])
    return function
