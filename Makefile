# Two commands do all the set-up on a fresh machine:
#   make demo   a working site with Hanoi's data on SQLite, web server + task worker
#   make test   the whole suite (honours DATABASE_URL)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo demo-data serve test lint messages makemessages bench clean
.PHONY: serve-prod scaleout-check load-test

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Compiles locale/vi (ours) and locale/allauth/vi (django-allauth ships no Vietnamese).
messages: install
	$(BIN)/ihanoi compilemessages --ignore=.venv --ignore=var -v0

demo-data: install messages
	mkdir -p var
	$(BIN)/ihanoi migrate --noinput -v0
	$(BIN)/ihanoi createcachetable
	$(BIN)/ihanoi collectstatic --noinput -v0
	$(BIN)/ihanoi demo_setup

demo: demo-data
	$(BIN)/ihanoi rundemo

test: install messages
	$(BIN)/pytest -q -p no:cacheprovider

lint: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# Developers: refresh the catalogue after changing user-facing strings, then translate.
makemessages: install
	$(BIN)/ihanoi makemessages -l vi --ignore=.venv --ignore=var --ignore=tests --ignore=bench --no-obsolete

bench: install
	$(BIN)/python bench/bench_locate.py

clean:
	rm -rf var
	find locale -name '*.mo' -delete

# Production-like on this machine (docs/operations.md): nginx in front of two gunicorn
# instances, the RQ worker and the scheduler, on PostgreSQL (DATABASE_URL, default
# ihanoi_prod on 127.0.0.1) and Redis; Ctrl-C stops everything. STACK_ARGS adds options of
# deploy/stack.py up, e.g. STACK_ARGS="--instances 3 --workers 3".
STACK_ARGS ?=
serve-prod: install messages
	$(BIN)/python deploy/stack.py up $(STACK_ARGS)

# Two instances behind nginx share the work and keep no state of their own.
scaleout-check: install messages
	$(BIN)/python deploy/scaleout_check.py

# Load tests of the main flows against a raw-database baseline, in one run.
# LOAD_ARGS, e.g. LOAD_ARGS="--duration 60 --volume 1000000".
LOAD_ARGS ?=
load-test: install messages
	$(BIN)/python bench/load/run.py $(LOAD_ARGS)
