"""The recipe for paperbrief's shipped weights: the SciTLDR LoRA adapter of the bundled 0.5B model
(`service/engines/adapters/scitldr-qwen2.5-coder-0.5b-lora.safetensors`). training/README.md gives the
command sequence that rebuilds it.

Run each script as a module from the repository root, e.g.
`.venv/bin/python -m training.train_tldr_adapter --help`. Development tools: they import torch directly.

Importing the package first keeps every script offline: the Hugging Face hub is read from the local
cache only (export HF_HUB_OFFLINE=0 to allow downloads).
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
