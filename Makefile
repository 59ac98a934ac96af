# Two entry points do everything on a fresh machine: `make sweep` (set up, run the main job: the
# quick sweep and its report) and `make test` (set up, run the tests). Everything else here serves
# those two.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup sweep demo lint test bench bench-peers bench-agents bench-gpu clean

setup: $(STAMP)

# torch==2.13.0 first: on these machines that is a CPU build already on disk, while a bare
# `torch` would pull gigabytes of CUDA wheels. The package itself only asks for a range.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

sweep: setup
	$(VENV)/bin/rewardgym sweep quick --out runs

demo: setup
	$(VENV)/bin/rewardgym demo

# Lint (ruff), format check, types (mypy) and the layers (import-linter), then the tests.
lint: setup
	$(VENV)/bin/ruff check rewardgym tests benchmarks
	$(VENV)/bin/ruff format --check rewardgym tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest

# The CPU table's peers (gymnax, JAX, envpool): a failed install only skips their contenders.
bench-peers: setup
	-$(PY) -m pip install -q 'envpool>=1.2' 'jax>=0.6,<0.12' flax six
	-$(PY) -m pip install -q --no-deps gymnax==1.0.1

bench: setup bench-peers
	$(PY) -m pytest benchmarks/test_throughput.py benchmarks/test_text_throughput.py benchmarks/test_multiagent_throughput.py benchmarks/test_render_throughput.py benchmarks/test_multimodal_throughput.py --benchmark-only -p no:cacheprovider

# Agents and text: SB3 adapter throughput, time-to-475 ratios, the text hacking gap (minutes).
bench-agents: setup
	$(PY) -m pytest benchmarks/test_agents.py benchmarks/test_native_ppo.py benchmarks/test_text_hacking.py -p no:cacheprovider -s

bench-gpu: setup
	NUMBA_ENABLE_CUDASIM=0 $(PY) -m pytest benchmarks/test_gpu_throughput.py --benchmark-only -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
