"""Every public function and class of the package documents its parameters and what it
returns in numpydoc sections, checked module by module with numpydoc's own validator."""

import importlib
import inspect
import pkgutil

import pytest
from numpydoc.validate import validate

import sepclr

CHECKS = {"PR01", "PR02", "PR10", "RT01", "RT02", "GL08"}


def _modules() -> list[str]:
    names = [info.name for info in pkgutil.walk_packages(sepclr.__path__, "sepclr.")]
    return sorted(n for n in names if not any(p.startswith("_") for p in n.split(".")[1:]))


def _public(module_name: str) -> list[str]:
    """The public functions and classes defined in the module, and their public methods
    and properties, but for a method without a docstring that overrides a documented
    method of this package (it inherits that documentation, as Sphinx shows it)."""
    module = importlib.import_module(module_name)
    found = []
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module_name:
            continue
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if not getattr(obj, "_is_protocol", False):  # a typing.Protocol has no constructor
            found.append(f"{module_name}.{name}")
        if inspect.isclass(obj):
            found += [
                f"{module_name}.{name}.{member}"
                for member, value in vars(obj).items()
                if not member.startswith("_")
                and (inspect.isfunction(value) or isinstance(value, property | classmethod))
                and not _inherits_documentation(obj, member, value)
            ]
    return found


def _inherits_documentation(cls: type, member: str, value: object) -> bool:
    if getattr(value, "__doc__", None):
        return False
    bases = [base for base in cls.__mro__[1:] if base.__module__.startswith("sepclr.")]
    return any(getattr(vars(base).get(member), "__doc__", None) for base in bases)


@pytest.mark.parametrize("module_name", _modules())
def test_every_public_definition_has_its_numpydoc_sections(module_name):
    problems = []
    for name in _public(module_name):
        errors = [f"{code} {message}" for code, message in validate(name)["errors"]]
        problems += [f"{name}: {e}" for e in errors if e[:4] in CHECKS]
    assert not problems, "\n".join(problems)
