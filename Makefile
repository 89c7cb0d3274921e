# lossparity: the two user commands are `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONHASHSEED ?= 0

.PHONY: venv demo test test-all bench clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lossparity demo

# The default suite: everything except the cases marked `slow`.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist worksteal -m "not slow" --durations=25 parity_tests

# Everything, the slow grid included.
test-all: $(STAMP)
	$(PY) -m pytest -n 2 --dist worksteal parity_tests

bench: $(STAMP)
	$(VENV)/bin/lossparity bench --device cpu

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
