"""The documented API (what ``docs/api.rst`` lists) has its parameters and what it returns in
numpydoc sections, checked with numpydoc's own validator; the rest of the package keeps
short docstrings."""

import importlib
import inspect
import re
from pathlib import Path

import pytest
from numpydoc.validate import validate

CHECKS = {"PR01", "PR02", "PR10", "RT01", "RT02", "GL08"}
API = Path(__file__).resolve().parents[1] / "docs" / "api.rst"


def _members(target: str, listed: str | None) -> list[str]:
    """A documented class's or module's members: those listed, or every public one."""
    if listed:
        return [f"{target}.{m.strip()}" for m in listed.split(",")]
    try:
        owner = importlib.import_module(target)
    except ImportError:
        module, _, name = target.rpartition(".")
        owner = getattr(importlib.import_module(module), name)
    return [
        f"{target}.{name}"
        for name, value in vars(owner).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and getattr(value, "__module__", target) == getattr(owner, "__name__", target)
    ]


def documented_api() -> list[str]:
    """Every function, class and member that ``docs/api.rst`` documents."""
    found = []
    blocks = re.findall(r"^\.\. (auto\w+):: (\S+)\n((?:   .*\n)*)", API.read_text(), re.M)
    for directive, target, options in blocks:
        members = re.search(r":members:(.*)", options)
        if directive in ("autofunction", "autoclass"):
            found.append(target)
        if members is not None and ":no-members:" not in options:
            found += _members(target, members.group(1).strip() or None)
    return sorted(set(found))


def test_the_api_reference_lists_real_objects():
    names = documented_api()
    assert "sepclr.SepCLR.fit" in names and "sepclr.explain" in names
    assert len(names) > 60


@pytest.mark.parametrize("name", documented_api())
def test_every_documented_object_has_its_numpydoc_sections(name):
    errors = [f"{code} {message}" for code, message in validate(name)["errors"]]
    problems = [e for e in errors if e[:4] in CHECKS]
    assert not problems, f"{name}: {problems}"


def test_shared_parameters_fill_what_a_docstring_leaves_out_in_signature_order():
    from sepclr.docstrings import SHARED, shared_parameters

    @shared_parameters
    def own_and_shared(c, rows, bandwidth=0.5):
        """Summary.

        Parameters
        ----------
        rows : Tensor
            Its own text.

        Returns
        -------
        Tensor
            A scalar.
        """

    @shared_parameters
    def nothing_described(c, s):
        """Summary."""

    names = [line.split(" : ")[0] for line in own_and_shared.__doc__.splitlines() if " : " in line]
    assert names == ["c", "rows", "bandwidth"]
    assert (
        "Its own text." in own_and_shared.__doc__ and SHARED["bandwidth"] in own_and_shared.__doc__
    )
    assert own_and_shared.__doc__.index("bandwidth") < own_and_shared.__doc__.index("Returns")
    assert (
        nothing_described.__doc__
        == f"Summary.\n\nParameters\n----------\n{SHARED['c']}\n{SHARED['s']}"
    )
    assert not validate_errors("sepclr.objectives.kjem")


def validate_errors(name):
    return [code for code, _ in validate(name)["errors"] if code in CHECKS]
