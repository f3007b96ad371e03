# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tony-installed
# Portable llama.cpp build: no -march=native, so the wheel runs on any x86-64-v3 CPU (AVX2/FMA); see README.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: install demo test lint full bench clean

# BIG-bench's data is checked on every call: when the registry refused it once, a later call retries.
install: $(STAMP)
	$(PY) scripts/install_bigbench.py

$(STAMP): pyproject.toml scripts/system_packages.sh
	scripts/system_packages.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[lm,hf,icl,vision,rl,annotations,dev]'
	touch $(STAMP)

demo: install
	$(VENV)/bin/tony run --skip-missing-data configs/demo.yaml
	$(VENV)/bin/tony report

full: install
	$(VENV)/bin/tony run configs/full.yaml

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check src tests benchmarks scripts

clean:
	rm -rf $(VENV) tony-results .pytest_cache
