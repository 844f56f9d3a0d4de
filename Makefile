# archsim - every target bootstraps .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
WORKLOAD ?= vgg16
ARGS ?=

.PHONY: install sim test bench bench-injection study clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py constraints.txt archsim/accuracy/_bitflip.c archsim/accuracy/_bitflip_dense.h \
		archsim/accuracy/_bitflip_worker.h
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: the local CPU wheel; anything else would pull CUDA packages
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[test,ray]'
	touch $(STAMP)

sim: $(STAMP)
	$(BIN)/archsim sim --workload $(WORKLOAD) --json results/$(WORKLOAD).json --csv results/$(WORKLOAD).csv $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q tests

bench: $(STAMP)
	$(BIN)/python benchmarks/run_bench.py $(ARGS)

bench-injection: $(STAMP)
	$(BIN)/python benchmarks/bench_injection.py --rates 1e-6 1e-5 1e-4 $(ARGS)

study: $(STAMP)
	$(BIN)/archsim study $(ARGS)

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis build archsim/accuracy/_bitflip*.so
