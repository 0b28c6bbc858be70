# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: a newer or unpinned torch pulls a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# The main job end to end: simulate, train the smoke config (runs/demo is recreated), evaluate.
demo: $(STAMP)
	$(BIN)/interbank simulate --config configs/default.yaml --policy heuristic
	rm -rf runs/demo
	$(BIN)/interbank train --config configs/train/smoke.yaml --out runs/demo
	$(BIN)/interbank evaluate runs/demo --episodes 20

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

bench: $(STAMP)
	$(BIN)/interbank bench --banks 10,100,1000,10000 --steps 200

clean:
	rm -rf $(VENV) build *.egg-info
