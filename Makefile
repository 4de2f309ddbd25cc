# One command each for the README quick start. Everything lands in .venv; nothing global.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup review selfcheck eval test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The main job, offline: review the sample change with the built-in simulator as the model
# (no key, no network). With a key configured, `hunkwise review` reviews your branch.
review: $(STAMP)
	$(BIN)/hunkwise review --offline --diff examples/sample.diff

# Start the simulator, exercise it through the official SDKs, print a table of checks.
selfcheck: $(STAMP)
	$(BIN)/hunkwise sim --self-check

# Measure the review pipeline on the bundled dataset, offline (the simulator's figures, labelled
# as such; docs/eval.md). Skipped, saying so, until the dataset is there.
eval: $(STAMP)
	@if [ -d eval/cases ]; then $(BIN)/hunkwise eval eval/cases --offline; \
	else echo "eval/cases does not exist: no bundled dataset to measure (docs/eval.md)"; fi

# In parallel (pytest-xdist): four workers, also on two cores, since much of a test's time is spent
# waiting for a subprocess, a server or a simulated latency; tests/conftest.py says what keeps
# the workers apart. Byte code is written even where PYTHONDONTWRITEBYTECODE is set: pytest then
# keeps its assertion-rewritten test modules, and a second run collects in half the CPU time.
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n 4 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# Benchmarks print their figures; results are recorded in BENCHMARKS.md.
bench: $(STAMP)
	$(BIN)/python bench/packing.py
	$(BIN)/python bench/answer_parse.py
	$(BIN)/python bench/repair_rate.py
	$(BIN)/python bench/review_e2e.py
	$(BIN)/python bench/gateway_overhead.py
	$(BIN)/python bench/key_hops.py
	$(BIN)/python bench/eval_replay.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/conversation_pushes.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
