"""The README and the getting-started page show the same commands and outputs, and they
are what the Makefile and the command line do."""

import re
from pathlib import Path

import pytest

from sepclr import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SHARED = ("two-commands", "python", "command-line")


def _section(name: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    assert README.count(start) == 1 and README.count(end) == 1, name
    return README.split(start)[1].split(end)[0]


@pytest.mark.parametrize("name", SHARED)
def test_getting_started_includes_the_readme_sections_rather_than_copying_them(name):
    page = (ROOT / "docs" / "getting-started.md").read_text()
    include = (
        f"```{{include}} ../README.md\n:start-after: <!-- {name}:start -->\n"
        f":end-before: <!-- {name}:end -->\n```"
    )
    assert include in page
    lines = [line for line in _section(name).strip().splitlines() if not line.startswith("```")]
    assert lines[0] not in page  # included, not written twice


def test_the_makefile_runs_what_the_readme_says():
    makefile = (ROOT / "Makefile").read_text()
    recipes = dict(re.findall(r"^(\w+):.*\n((?:\t.*\n)+)", makefile, flags=re.M))
    assert "sepclr fit --dataset digits-on-fashion --out runs/main --plot" in recipes["run"]
    for step in ("ruff check", "ruff format --check", "mypy", "pytest", "$(MAKE) docs"):
        assert step in recipes["test"], step
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_files_the_readme_lists_are_those_a_plotted_run_writes(tmp_path):
    text = _section("two-commands")
    listed = text.split("`make run` writes `runs/main/`:")[1].split("replacing")[0]
    names = {name.rstrip("/") for name in re.findall(r"`([^`]+)`", listed)}
    out = tmp_path / "run"
    argv = ["fit", "--dataset", "synthetic-tabular", "--dataset-option", "n=60"]
    argv += ["--epochs", "1", "--quiet", "--plot", "--out", str(out)]
    assert cli.main(argv) == 0
    assert {path.name for path in out.iterdir() if not path.name.startswith(".")} == names
    results = (out / "results.md").read_text()
    for row in re.findall(r"^\| ([^|]+?) \|", text.split("| method |")[1], flags=re.M):
        label = row.split(" (")[0] if row.startswith("SepCLR") else row
        assert f"| {label}" in results, row
