# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

FLAKY_RUNS ?= 5

.PHONY: install demo test docs flaky compat compat-install compat-test wheel-check bench serve browser clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: a newer or unpinned torch pulls a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test,ray,docs]"
	touch $(STAMP)

install: $(STAMP)

# The main job end to end: simulate, train the smoke config (runs/demo is recreated), evaluate.
demo: $(STAMP)
	$(BIN)/interbank simulate --config configs/default.yaml --policy heuristic
	rm -rf runs/demo
	$(BIN)/interbank train --config configs/train/smoke.yaml --out runs/demo
	$(BIN)/interbank evaluate runs/demo --episodes 20

test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2

# The documentation site (mkdocs.yml, docs/) into site/, strictly: a broken link or anchor, a page missing
# from the nav or an API reference that no longer resolves fails it. A few seconds; CI runs it (.ci/run).
# The commands the README and the docs show are checked by tests/test_docs_commands.py (in make test).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# The whole suite FLAKY_RUNS times quiet, then as often beside two spinning processes; lists every test
# that failed at least once (test-artifacts/flaky.json). About 10 x 5 minutes here.
flaky: $(STAMP) browser
	$(BIN)/python tests/flaky.py --runs $(FLAKY_RUNS)

# The client libraries that cannot share an environment with the test extra, nor with each other, each in its
# own (docs/trainers.md): AgileRL 2.58 (pettingzoo<1.27, tensordict 0.13); BenchMARL 1.5 (torchrl<0.12,
# tensordict 0.11), under the oldest PettingZoo interbank supports, with the env's API tests. A library
# missing there fails its test instead of skipping it (INTERBANK_REQUIRE_COMPAT).
COMPAT := .venv-compat
COMPAT_BENCHMARL := .venv-compat-benchmarl
compat: compat-install
	$(MAKE) compat-test

compat-install:
	test -x $(COMPAT)/bin/python || $(PYTHON) -m venv $(COMPAT)
	$(COMPAT)/bin/pip install -q torch==2.13.0
	$(COMPAT)/bin/pip install -q -e ".[compat]"
	test -x $(COMPAT_BENCHMARL)/bin/python || $(PYTHON) -m venv $(COMPAT_BENCHMARL)
	$(COMPAT_BENCHMARL)/bin/pip install -q torch==2.13.0
	$(COMPAT_BENCHMARL)/bin/pip install -q -e ".[compat-benchmarl]" "pettingzoo==1.24.3"

compat-test:
	INTERBANK_REQUIRE_COMPAT=1 $(COMPAT)/bin/python -m pytest -q -m compat -k agilerl tests/compat
	INTERBANK_REQUIRE_COMPAT=1 $(COMPAT_BENCHMARL)/bin/python -m pytest -q -m compat -k benchmarl tests/compat
	$(COMPAT_BENCHMARL)/bin/python -m pytest -q tests/envs/test_pettingzoo_api.py tests/envs/test_interbank_env.py

# The package a user installs: sdist and wheel built and twine-checked, the wheel installed into a fresh
# virtualenv (torch 2.13.0 first) and its `interbank simulate` and `serve` run from outside the repository.
wheel-check:
	PYTHON=$(PYTHON) bash .ci/check_wheel.sh

# Chromium from Debian's packages for the browser test (Playwright drives it; it cannot download its own).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null \
	  || echo "make: could not install chromium; the browser test will be skipped"; }

# The interactive server on the demo checkpoint (trained first if missing): open the printed address.
serve: $(STAMP)
	@test -f runs/demo/config.yaml || $(BIN)/interbank train --config configs/train/smoke.yaml --out runs/demo
	$(BIN)/interbank serve --checkpoints runs

bench: $(STAMP)
	$(BIN)/interbank bench --banks 10,100,1000,10000 --steps 200

clean:
	rm -rf $(VENV) $(COMPAT) $(COMPAT_BENCHMARL) build site *.egg-info
