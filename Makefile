# The two commands of the README: `make run` and `make test`. Each sets up everything it needs on a fresh machine
# that has Python 3.11: the virtual environment in .venv, the pinned requirements, the database, the demo data.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup-run setup-test migrate demo chromium bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.base-installed: requirements/base.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.dev-installed: requirements/base.txt requirements/dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $@ $(VENV)/.base-installed

setup-run: $(VENV)/.base-installed
setup-test: $(VENV)/.dev-installed chromium

migrate: setup-run
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

## make run: set up, migrate, load the demo network, print the admin login, serve on http://$(HOST):$(PORT)
run: demo
	$(BIN)/python manage.py run_evnet --host $(HOST) --port $(PORT)

## make test: set up and run the whole suite (SQLite by default; DATABASE_URL / REDIS_URL select PostgreSQL / Redis)
test: setup-test
	DJANGO_SETTINGS_MODULE=evnet.settings.test $(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser smoke tests drive Debian's Chromium. Install it when missing and we are allowed to (root).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null; \
	  else echo "Chromium is missing: install the Debian packages chromium and chromium-driver for the browser tests."; fi; \
	fi

bench: setup-test
	@ls bench/*.py

clean:
	rm -rf $(VENV) var .pytest_cache
