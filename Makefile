# Comity — `make run` serves the demo, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := frontend/node_modules/.installed-stamp

.PHONY: setup run test test-python test-js lint types check bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): frontend/package.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py demo
	@echo
	@echo "Comity is at http://127.0.0.1:8000/  (Ctrl-C stops it)"
	$(BIN)/daphne -b 127.0.0.1 -p 8000 consult.asgi:application

test: test-python test-js

test-python: setup
	$(BIN)/pytest

test-js: $(NODE_STAMP)
	cd frontend && npm test --silent

lint: setup $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: setup $(NODE_STAMP)
	$(BIN)/mypy consult cases frontend
	cd frontend && npx tsc -p jsconfig.json

check: lint types test

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) frontend/node_modules db.sqlite3
