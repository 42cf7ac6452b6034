"""The layers import downwards only: the engine knows no networks, methods or applications."""

import ast
from pathlib import Path

import sepclr

ROOT = Path(sepclr.__file__).parent
ABOVE_ENGINE = ("sepclr.nets", "sepclr.methods", "sepclr.evaluation", "sepclr.run", "sepclr.cli")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_the_engine_imports_nothing_above_it():
    for path in sorted((ROOT / "engine").glob("*.py")):
        upward = [m for m in _imports(path) if m.startswith(ABOVE_ENGINE)]
        assert not upward, f"{path.name} imports {upward}"
