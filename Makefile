# reportcycle — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install system-deps demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash .ci/system-deps.sh

# The reference scenario: opens the Đồng Nai half-year cycle and sends every unit its form
# through the embedded mail server; look in var/demo/mail/sent.
demo: install system-deps
	REPORTCYCLE_HOME=var/demo $(VENV)/bin/reportcycle cycle open regimes/dong-nai-ttdn-6-thang.yaml \
	  --period 2024-H1 --request-ref 2608/CV/BTGTU --request-date 2024-06-10 \
	  --request-from "Ban Tuyên giáo Tỉnh ủy" --now 2024-06-17T08:00
	REPORTCYCLE_HOME=var/demo $(VENV)/bin/reportcycle status dong-nai-ttdn-6-thang-2024-H1
	@echo "The emails sent are in var/demo/mail/sent (one file per message)."

# Every test, on SQLite and on a throwaway PostgreSQL cluster; Dovecot and LibreOffice for real.
test: install system-deps
	REPORTCYCLE_TEST_POSTGRES_URL=$$(bash .ci/postgres.sh start) \
	  $(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: install
	$(PY) bench/open_cycle.py --units 1000
	$(PY) bench/collect.py --units 1000

clean:
	rm -rf var/demo test-output
