# reportcycle — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install system-deps demo demo-stop test test-quick lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash .ci/system-deps.sh

# The reference scenario end to end in simulated time (17/6 → 3/7/2024) against a local Prefect
# server, started if none runs and left running (UI at http://127.0.0.1:4200).
demo: install system-deps
	$(VENV)/bin/reportcycle demo

# Stops the Prefect server `make demo` started.
demo-stop:
	@if [ -f var/prefect/server.pid ]; then \
	  kill $$(cat var/prefect/server.pid) && rm var/prefect/server.pid \
	    && echo "Prefect server stopped."; \
	else echo "no var/prefect/server.pid: no Prefect server started by make demo."; fi

# Every test, on SQLite and on a throwaway PostgreSQL cluster; Dovecot and LibreOffice for real.
test: install system-deps
	REPORTCYCLE_TEST_POSTGRES_URL=$$(bash .ci/postgres.sh start) \
	  $(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# The short loop while working: SQLite only, no Prefect server, no LibreOffice, no browser.
test-quick: install
	$(VENV)/bin/pytest -q -p no:cacheprovider -m "not slow and not libreoffice and not browser and not postgres" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: install
	$(PY) bench/full_cycle.py

clean:
	rm -rf var/demo var/demo.previous test-output
