# Every target sets itself up: a virtual environment in .venv with the project installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB ?= demo.db
DEMO_SIZE ?= demo

.PHONY: install demo test lint bench bench-quick clean schemas

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python -m demo --size $(DEMO_SIZE) --db sqlite:///$(DEMO_DB)

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

schemas: install  # regenerate events/schemas/ (JSON Schemas for Kafka consumers)
	$(BIN)/python -m events.schema_export

bench: install
	$(BIN)/python -m bench --sizes S,M

bench-quick: install
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) *.db *.db-wal *.db-shm .pytest_cache .mypy_cache .ruff_cache .hypothesis
