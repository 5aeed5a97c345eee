# make run  - set everything up and start the app on SQLite (http://127.0.0.1:8000, simulator at /simulator)
# make test - set everything up and run the whole suite on SQLite and PostgreSQL
# make lint - ruff and mypy (make test runs them first)
# make diagrams - draw the dialog and the process again (flows/*.mmd and the README) after changing them
# make bench - measure the inbound path, growth, reminders, scale-out, cost and memory (bench/RESULTS.md)
# make assets - rebuild the vendored GOV.UK Frontend files from assets/package.json (needs Node; run and test don't)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-suite lint install migrate diagrams assets clean bench

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	@mkdir -p -m 700 var
	@$(BIN)/referral-bot keygen --file var/data.key --if-missing
	@$(BIN)/referral-bot keygen --file var/session.key --if-missing > /dev/null
	@$(BIN)/referral-bot migrate
	@echo "Staff pages: http://127.0.0.1:8000/staff (first account: $(BIN)/referral-bot users create you@example.org --role admin)"
	@$(BIN)/referral-bot serve

# The suite needs PostgreSQL as well as SQLite: reuse TEST_POSTGRES_URL when .ci/run (or you)
# set it, otherwise start a throwaway cluster just for this run.
test: $(STAMP)
	@if [ -n "$$TEST_POSTGRES_URL" ]; then $(MAKE) --no-print-directory test-suite; \
	else bash .ci/with-postgres $(MAKE) --no-print-directory test-suite; fi

# One worker process per core (pytest-xdist); PYTEST_WORKERS=0 runs in this process, for debugging.
PYTEST_WORKERS ?= auto

test-suite: lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal

# Lint and types: ruff (rules in pyproject.toml) and mypy --strict on bot/, flows/, store/ and bench/.
lint: $(STAMP)
	$(BIN)/ruff check bot flows store tests bench
	$(BIN)/mypy

# About 10 minutes on 2 cores; a throwaway PostgreSQL like the tests'. Writes bench/results.json and
# bench/RESULTS.md. The profiler comes from the `bench` extra.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@if [ -n "$$TEST_POSTGRES_URL" ]; then $(BIN)/python -m bench; \
	else bash .ci/with-postgres $(BIN)/python -m bench; fi

migrate: $(STAMP)
	$(BIN)/referral-bot migrate

diagrams: $(STAMP)
	$(BIN)/python -m flows.diagrams

# npm ci installs exactly what package-lock.json pins; no package's install script is needed (or run).
assets:
	cd assets && npm ci --ignore-scripts --no-audit --no-fund && npm run build

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
