# Two commands set everything up on a fresh machine with Python 3.11:
#   make book   - virtual environment, requirements, the package; builds the book into _build/html
#   make test   - the same set-up, then unit tests, every notebook (smoke profile), the browser test of the
#                 smoke build and the chapters run in JupyterLab
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Keep TensorFlow's start-up noise out of pages and logs; one line per epoch in executed notebooks.
export TF_CPP_MIN_LOG_LEVEL ?= 3
export MNIST_VERBOSE ?= 2
# An absolute path, since the notebooks run in notebooks/ (`override`: also when given as `make book MNIST_DATA_DIR=...`).
ifdef MNIST_DATA_DIR
override MNIST_DATA_DIR := $(abspath $(MNIST_DATA_DIR))
export MNIST_DATA_DIR
endif
# The smoke profile builds into its own folder so its cache never serves the full book.
BOOK_OUT := $(if $(filter smoke,$(MNIST_PROFILE)),_build/smoke,.)
HTML := $(BOOK_OUT)/_build/html
# Sphinx re-reads, and so re-executes, only the pages whose source changed since the last build;
# the notebooks' outputs also depend on mnist_helpers (a changed recipe means another saved model).
# When the package changed since the last successful build, or the last build failed (Sphinx keeps the pages
# it read, so a page that failed would not run again), every page is re-executed (`--all`);
# saved models are loaded, so that costs minutes, and only a changed recipe retrains.
HELPERS_SHA := $(shell cat mnist_helpers/*.py mnist_helpers/data_files/* 2>/dev/null | sha256sum | cut -c1-16)
HELPERS_STAMP := $(BOOK_OUT)/_build/.helpers-sha

.PHONY: help setup book book-smoke test test-unit test-notebooks test-browser test-lab lab clean strip

help:
	@echo "make book   build the book (full profile by default) into $(HTML)"
	@echo "make test   unit tests, all notebooks under MNIST_PROFILE=smoke, browser tests of the smoke build and in JupyterLab"
	@echo "make lab    JupyterLab on the chapters (MNIST_PROFILE=smoke make lab for the fast profile)"
	@echo "make strip  remove outputs from the notebooks before committing"

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

book: $(STAMP)
	@echo "Building the book with profile '$${MNIST_PROFILE:-full}' into $(HTML)"
	@ALL=; if [ -d $(BOOK_OUT)/_build/.doctrees ] && [ "$$(cat $(HELPERS_STAMP) 2>/dev/null)" != "$(HELPERS_SHA)" ]; then \
	  echo "mnist_helpers changed since the last build: re-executing every page"; ALL=--all; fi; \
	$(BIN)/jupyter-book build . --path-output $(BOOK_OUT) -W --keep-going $$ALL || { \
	  echo "--- execution reports ---"; cat $(HTML)/reports/*.log 2>/dev/null; rm -f $(HELPERS_STAMP); exit 1; }
	@echo $(HELPERS_SHA) > $(HELPERS_STAMP)
	@echo "Open file://$(abspath $(HTML))/index.html"

book-smoke:
	$(MAKE) book MNIST_PROFILE=smoke

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests -m "not browser"

test-notebooks: $(STAMP)
	MNIST_PROFILE=smoke $(BIN)/python -m pytest --nbmake --nbmake-timeout=900 notebooks

test-browser: $(STAMP)
	$(MAKE) book MNIST_PROFILE=smoke
	MNIST_PROFILE=smoke $(BIN)/python -m pytest tests -m "browser and not lab"

# The chapters run all in JupyterLab in Chromium (tests/test_lab.py, about 8 minutes); needs no built book.
test-lab: $(STAMP)
	MNIST_PROFILE=smoke $(BIN)/python -m pytest tests -m lab

test: test-unit test-notebooks test-browser test-lab

# JupyterLab (pinned in requirements.txt) with the venv as the kernel; jupyterlab-myst renders the chapters'
# MyST markdown and shows their {eval} numbers once a markdown cell has run. Served from the repository
# (so the chapters' links to book/ work) and opened in notebooks/; it prints its URL with the token. Training
# shows Keras's progress bar there (MNIST_VERBOSE=auto), not the book build's line per epoch.
lab: $(STAMP)
	@echo "JupyterLab, profile '$${MNIST_PROFILE:-full}': open a chapter, then Run > Run All Cells."
	MNIST_VERBOSE=auto $(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# Notebooks are committed without outputs: strip them after running them in Jupyter (code outputs,
# execution counts, and the {eval} results jupyterlab-myst keeps in markdown cells' metadata).
strip: $(STAMP)
	$(BIN)/python -c "import nbformat, sys; \
	[([c.update(outputs=[], execution_count=None) if c.cell_type == 'code' else c.metadata.pop('user_expressions', None) \
	   for c in nb.cells], nbformat.write(nb, p)) for p in sys.argv[1:] for nb in [nbformat.read(p, 4)]]" notebooks/*.ipynb

clean:
	rm -rf _build
