# Set-up, main job and tests. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup data run test docs bench

setup: $(VENV)/.installed data

# torch is installed first and pinned: on this machine kind pip serves 2.13.0 (CPU) locally,
# while an unpinned torch would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

data:
	@bash scripts/get-fashion-mnist.sh

run: setup
	$(BIN)/sepclr fit --dataset digits-on-fashion --out runs/main --plot --overwrite

test: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest
	$(MAKE) docs

# The documentation site, warnings as errors; open docs/_build/html/index.html
docs: setup
	@echo "docs: building docs/_build/html; the gallery runs its examples first (a few minutes)"
	rm -rf docs/_build docs/auto_examples
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html
	@echo "docs: done; open docs/_build/html/index.html"

bench: setup
	$(BIN)/python benchmarks/digits_on_fashion.py
