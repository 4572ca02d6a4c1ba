# CBA Bot — everything a newcomer needs is one `make` away.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: console test run lint format demo migrate manifest bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "CBA Bot needs Python 3.11 or newer (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

console: $(STAMP)  ## migrate, load the demo cohort and open the terminal Slack
	$(BIN)/cba-bot db upgrade
	$(BIN)/cba-bot demo
	$(BIN)/cba-bot console

test: $(STAMP)  ## lint, type-check and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

run: $(STAMP)  ## serve Slack with the settings in .env
	$(BIN)/cba-bot run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: $(STAMP)
	$(BIN)/cba-bot demo

migrate: $(STAMP)
	$(BIN)/cba-bot db upgrade

manifest: $(STAMP)
	$(BIN)/cba-bot manifest > manifest.yml

bench: $(STAMP)  ## performance scripts; they write bench/RESULTS.md
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
