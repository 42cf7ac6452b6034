"""The shape of the source (issue 32): the share of ``src/sepclr`` lines in docstrings, and
the repeated code that the ``duplicates`` tool finds with and without docstrings.

    python benchmarks/code_shape.py
"""

import ast
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "sepclr"


def _docstrings(tree: ast.AST) -> list[ast.Expr]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                found.append(first)
    return found


def main() -> None:
    lines = documentation = 0
    with tempfile.TemporaryDirectory() as stripped:
        for path in sorted(SOURCE.rglob("*.py")):
            text = path.read_text()
            tree = ast.parse(text)
            lines += len(text.splitlines())
            for doc in _docstrings(tree):
                documentation += doc.end_lineno - doc.lineno + 1  # type: ignore[operator]
            for node in ast.walk(tree):
                body = getattr(node, "body", None)
                if isinstance(body, list) and body and body[0] in _docstrings(node):
                    node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
            copy = Path(stripped) / path.relative_to(SOURCE.parent)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(ast.unparse(tree))
        print(f"docstrings: {documentation} of {lines} lines ({documentation / lines:.1%})")
        for label, folder in (("with docstrings", SOURCE.parent), ("without", Path(stripped))):
            done = subprocess.run(
                ["duplicates", "--repo", str(folder), "--most", "1"],
                capture_output=True,
                text=True,
                check=False,
            )
            print(f"duplicates {label}: {done.stdout.splitlines()[0]}")


if __name__ == "__main__":
    main()
