# Two entry points do everything on a fresh machine: `make demo` (set up, run the main job) and
# `make test` (set up, run the tests). Everything else here serves those two.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench bench-gpu clean

setup: $(STAMP)

# torch==2.13.0 first: on these machines that is a CPU build already on disk, while a bare
# `torch` would pull gigabytes of CUDA wheels. The package itself only asks for a range.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/rewardgym demo

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m pytest benchmarks/test_throughput.py --benchmark-only -p no:cacheprovider

bench-gpu: setup
	NUMBA_ENABLE_CUDASIM=0 $(PY) -m pytest benchmarks/test_gpu_throughput.py --benchmark-only -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
