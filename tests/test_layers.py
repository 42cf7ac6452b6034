"""The structure of the package: the wings import downwards only (the engine knows no
objectives, networks, methods or applications, not even by name), and functions stay short."""

import ast
from pathlib import Path

import sepclr

ROOT = Path(sepclr.__file__).parent
ABOVE_ENGINE = (
    "sepclr.objectives",
    "sepclr.nets",
    "sepclr.methods",
    "sepclr.evaluation",
    "sepclr.attribution",
    "sepclr.run",
    "sepclr.cli",
)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


# The wings of the package, lowest first; a module imports only from its own wing or below.
WINGS = [
    {"errors", "_version", "memory", "registry", "recipes", "docstrings"},
    {"engine"},
    {"data", "objectives", "nets", "views"},
    {"methods"},
    {"evaluation", "export"},
    {"selection", "attribution", "bench", "run_log", "run_folder"},
    {"run"},
    {"launch"},
    {"cli", "__main__", "datasets", "__init__"},
]


def _wing(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _level(wing: str) -> int:
    return next(k for k, names in enumerate(WINGS) if wing in names)


def test_every_wing_imports_only_the_wings_below_it():
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT.parent).with_suffix("")
        wing = _wing(".".join(relative.parts))
        for module in _imports(path):
            if module == "sepclr":  # ``from sepclr import run``: the run wing
                continue
            if module.startswith("sepclr.") and _level(_wing(module)) > _level(wing):
                upward.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not upward, upward


def test_the_engine_imports_nothing_above_it():
    for path in sorted((ROOT / "engine").glob("*.py")):
        upward = [m for m in _imports(path) if m.startswith(ABOVE_ENGINE)]
        assert not upward, f"{path.name} imports {upward}"


def test_the_engine_names_no_backbone_or_method():
    from sepclr.nets.encoder import BACKBONES
    from sepclr.registry import METHODS

    names = {*BACKBONES[1:], *(info.cls.__name__ for info in METHODS.values())}
    for path in sorted((ROOT / "engine").glob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and node.body
            if isinstance(node.body[0], ast.Expr)
        }
        strings = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            if id(node) not in docstrings
        }
        named = {name for name in names for text in strings if name in text}
        assert not named, f"{path.name} names {sorted(named)}"


def _code_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """A function's lines, its docstring left out."""
    lines = function.end_lineno - function.lineno + 1
    first = function.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        lines -= first.end_lineno - first.lineno + 1
    return lines


def test_no_function_is_longer_than_60_lines_of_code():
    long = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _code_lines(node) > 60:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not long, long
