"""The estimators' constructors as type checkers and editors see them: each class spells
out its ``__init__`` for them (under ``TYPE_CHECKING``), which must match the declared
parameters that build the real one, and mypy then refuses a misspelt parameter."""

import ast
import inspect
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from sepclr.methods.parameters import declared
from sepclr.registry import METHODS

ROOT = Path(__file__).resolve().parents[1]


def _spelt_out(cls: type) -> ast.FunctionDef:
    """The ``__init__`` that ``cls``, or the nearest base that does, spells out under
    ``if TYPE_CHECKING:`` (a class that adds no parameter may use its base's)."""
    for klass in cls.__mro__:
        tree = ast.parse(Path(inspect.getsourcefile(klass)).read_text())
        node = next(
            n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == klass.__name__
        )
        for statement in node.body:
            if isinstance(statement, ast.If) and ast.unparse(statement.test) == "TYPE_CHECKING":
                return next(f for f in statement.body if isinstance(f, ast.FunctionDef))
    raise AssertionError(f"{cls.__name__} spells out no __init__ under TYPE_CHECKING")


@pytest.mark.parametrize("name", sorted(METHODS))
def test_the_spelt_out_constructor_matches_the_declared_parameters(name):
    """The code sizes with their defaults, then every other declared parameter by name,
    typed by the class's ``TypedDict`` of parameters."""
    cls = METHODS[name].cls
    function = _spelt_out(cls)
    sizes = [a.arg for a in function.args.args[1:]]
    defaults = [ast.literal_eval(d) for d in function.args.defaults]
    params = declared(cls)
    assert sizes == ["common_dim", "salient_dim"]
    assert defaults == [params["common_dim"].default, params["salient_dim"].default]
    by_name = ast.unparse(function.args.kwarg.annotation)
    assert by_name.startswith("Unpack[") and not function.args.kwonlyargs
    typed = getattr(sys.modules[cls.__module__], by_name[len("Unpack[") : -1])
    assert set(typing.get_type_hints(typed)) == set(params) - set(sizes)
    assert list(inspect.signature(cls).parameters) == [
        *sizes,
        *(n for n in params if n not in sizes),
    ]


def test_mypy_refuses_a_misspelt_parameter(tmp_path):
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        "import sepclr\n\n"
        "sepclr.SepCLR(common_dim=8, salient_dim=4, lr=1e-3, epochs=2)\n"
        "sepclr.SepCLR(commn_dim=8)\n"
        "sepclr.CVAE(8, 4, 30)\n"
    )
    env = {**os.environ, "MYPYPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "mypy", "--no-error-summary", str(snippet)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    lines = {int(line.split(":")[1]) for line in errors}
    assert lines == {4, 5}, done.stdout + done.stderr  # the typed call on line 3 passes
    assert any('Unexpected keyword argument "commn_dim" for "SepCLR"' in e for e in errors)
    assert any('Too many positional arguments for "CVAE"' in e for e in errors)
