# The two commands: `make run` (the site on SQLite with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
HOST ?= 127.0.0.1
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes

.PHONY: run test test-sqlite test-postgres stress lint format lock migrate bench bench-site bench-jobs \
	bench-engines clean vendor \
	wheel piccolo-suite

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Bandstand needs Python 3.11 or newer: set PYTHON=python3.1x" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements/lock.txt | $(VENV)/bin/python
	$(PIP) -r requirements/lock.txt
	@touch $@

$(VENV)/.dev: requirements/dev.lock.txt $(VENV)/.runtime
	$(PIP) -r requirements/dev.lock.txt
	@touch $@

run: $(VENV)/.runtime  ## Serve the site on http://127.0.0.1:8000 (PORT overrides), with demo data.
	$(BIN)/piccolo migrations forwards all
	$(BIN)/piccolo project demo
	$(BIN)/uvicorn main:app --host $(HOST) --port $(PORT)

test: test-sqlite test-postgres  ## The whole suite: once on SQLite, once on PostgreSQL.

# Tests run side by side in WORKERS processes (pytest-xdist), each with a database of its own;
# many wait on servers and subprocesses, so more workers than cores still go faster.
WORKERS ?= 4
# Where Python is told not to write bytecode (PYTHONDONTWRITEBYTECODE), every command and
# server the tests start would compile the code again: let the first one write it (Python reads
# an empty value as unset).
test-sqlite test-postgres stress: export PYTHONDONTWRITEBYTECODE =
PYTEST := $(BIN)/python -m pytest -n $(WORKERS) --dist worksteal --durations=15

test-sqlite: $(VENV)/.dev
	$(PYTEST)

# The same app tests again on the local PostgreSQL server, in a fresh database.
test-postgres: $(VENV)/.dev
	BANDSTAND_TEST_DATABASE=postgres $(PYTEST) -m "not engine_independent"

# Reliability and security under load, faults and hostile input, on each database: the
# framework's (tests/stress/) and any feature's own (tests/<feature>/stress/). Prints its
# figures and writes bench/results/stress-*.{json,md}. Not in `make test`.
STRESS_TESTS = tests/stress $(wildcard tests/*/stress)

stress: $(VENV)/.dev
	BANDSTAND_STRESS=1 $(BIN)/python -m pytest $(STRESS_TESTS)
	BANDSTAND_STRESS=1 BANDSTAND_TEST_DATABASE=postgres $(BIN)/python -m pytest $(STRESS_TESTS) \
		-m "not engine_independent"

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The site and the job queue, measured on each database (not part of `make test`).
bench: bench-site bench-jobs

# The site against a raw-driver baseline under wrk.
bench-site: $(VENV)/.dev
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk" >&2; exit 1; }
	$(BIN)/python -m bench.site

# The job queue: jobs per second, and the wait from enqueue to start.
bench-jobs: $(VENV)/.dev
	$(BIN)/python -m bench.jobs

# What the pooler-safe default costs, per engine (not part of `make test`).
bench-engines: $(VENV)/.dev
	$(BIN)/python -m bench.engines

# Piccolo's own test suite against Bandstand's engines and the stock ones (docs/database.md);
# Piccolo's source first: tests/conformance/piccolo_suite/prepare-checkout.sh. Not in make test.
piccolo-suite: $(VENV)/.dev
	$(BIN)/python -m tests.conformance.piccolo_suite.run --bandstand-rev HEAD

migrate: $(VENV)/.runtime
	$(BIN)/piccolo migrations forwards all

# Re-resolve the pins (with the dev tools' uv, or UV=…); the runtime lock is constrained to the
# dev lock's choices.
UV ?= $(if $(wildcard $(BIN)/uv),$(BIN)/uv,uv)
lock:
	$(UV) pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --no-header -q -o requirements/dev.lock.txt
	$(UV) pip compile pyproject.toml --universal --python-version 3.11 -c requirements/dev.lock.txt \
		--generate-hashes --no-header -q -o requirements/lock.txt

# The framework's wheel in dist/: its templates, static files and migrations, and what
# `bandstand new DIR` writes (hatch_build.py). Built from this checkout, with no network.
wheel: $(VENV)/.dev
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist .

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .mypy_cache .ruff_cache dist

# Re-copy the front-end files served from bandstand/static/vendor/ (Bandstand's pages) and
# static/vendor/ (the site's) (needs npm; the copies are committed, so running the site never does).
vendor:
	rm -rf .vendor-build && mkdir -p .vendor-build/bandstand .vendor-build/site
	cp bandstand/static/vendor/package.json bandstand/static/vendor/package-lock.json .vendor-build/bandstand/
	cp static/vendor/package.json static/vendor/package-lock.json .vendor-build/site/
	cd .vendor-build/bandstand && npm ci --no-audit --no-fund --silent
	cd .vendor-build/site && npm ci --no-audit --no-fund --silent
	cp .vendor-build/bandstand/node_modules/htmx.org/dist/htmx.min.js bandstand/static/vendor/
	cp .vendor-build/bandstand/node_modules/@alpinejs/csp/dist/cdn.min.js bandstand/static/vendor/alpine-csp.min.js
	cp .vendor-build/bandstand/node_modules/@picocss/pico/css/pico.min.css bandstand/static/vendor/
	cp .vendor-build/site/node_modules/chart.js/dist/chart.umd.min.js static/vendor/
	rm -rf .vendor-build
