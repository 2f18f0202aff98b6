"""Benchmarks and evaluation studies for paperbrief (one line per script in bench/README.md).

Run each as a module from the repository root, e.g. `.venv/bin/python -m bench.task_bench --help`.
Development tools: they may import torch directly. The recipe for the shipped weights is in training/.

Importing the package first keeps every script offline and quiet, whatever it imports next:
the Hugging Face hub is read from the local cache only (export HF_HUB_OFFLINE=0 to allow downloads)
and Chroma sends no telemetry.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
