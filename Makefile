# Every target sets itself up: a virtual environment in .venv with the project installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB ?= demo.db
DEMO_SIZE ?= demo
HOST ?= 127.0.0.1
PORT ?= 8000
SUDO := $(shell test "$$(id -u)" = 0 || echo sudo)

.PHONY: install chromium demo serve screenshots test lint bench bench-quick clean schemas docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The browser tests and screenshots drive Debian's chromium (Playwright's own download is
# not reachable); installed with apt-get when missing, as .ci/run does (needs root).
CHROMIUM := /usr/lib/chromium/chromium
chromium:
	@test -x $(CHROMIUM) || { export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get update -qq || true; $(SUDO) apt-get install -y -qq chromium >/dev/null; }

demo: install
	$(BIN)/python -m demo --size $(DEMO_SIZE) --db sqlite:///$(DEMO_DB)

# The dashboards and API on the demo database (made first when missing), with one-time
# sign-in links: an admin's, and one per other console to try them all (open each in its
# own private window: a browser holds one session).
DEMO_PARTNER ?= rt-00001
# The account the demo pays from, so finance's console makes the SEPA file (your own
# LEDGER_PAYER_NAME / LEDGER_PAYER_IBAN, when set, win).
serve: export LEDGER_PAYER_NAME ?= Demo SaaS GmbH
serve: export LEDGER_PAYER_IBAN ?= DE89370400440532013000
serve: install
	@test -f $(DEMO_DB) || $(MAKE) --no-print-directory demo
	@echo "Dashboard: http://$(HOST):$(PORT)/   API reference: http://$(HOST):$(PORT)/docs"
	@echo "Sign in as admin (one-time link, expires in 72 h):"
	@$(BIN)/ledger --db sqlite:///$(DEMO_DB) token invite --role admin --label "make serve" --base-url http://$(HOST):$(PORT)
	@echo "The other consoles (each link works once):"
	@for role in finance auditor; do printf '  %-8s ' $$role; \
	  $(BIN)/ledger --db sqlite:///$(DEMO_DB) token invite --role $$role --label "make serve" --base-url http://$(HOST):$(PORT); done
	@printf '  %-8s ' partner; $(BIN)/ledger --db sqlite:///$(DEMO_DB) token invite --role partner --partner $(DEMO_PARTNER) \
	  --label "make serve" --base-url http://$(HOST):$(PORT)
	$(BIN)/ledger --db sqlite:///$(DEMO_DB) serve --host $(HOST) --port $(PORT)

# A PNG of every dashboard into docs/screenshots/, from the demo database, in Debian's chromium.
screenshots: install chromium
	@test -f $(DEMO_DB) || $(MAKE) --no-print-directory demo
	$(BIN)/python -m demo.screenshots --db sqlite:///$(DEMO_DB) --out docs/screenshots

test: install chromium
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

schemas: install  # regenerate events/schemas/ (for Kafka consumers) and commands/schemas/ (for senders)
	$(BIN)/python -m events.schema_export
	$(BIN)/python -m commands.schema_export

docs: install  # regenerate docs/commands.md and the README's settings table from the models
	$(BIN)/python -m entrypoints.docs

bench: install
	$(BIN)/python -m bench --sizes S,M

bench-quick: install
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) *.db *.db-wal *.db-shm .pytest_cache .mypy_cache .ruff_cache .hypothesis
