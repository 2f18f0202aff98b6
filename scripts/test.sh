#!/usr/bin/env bash
# Set up and run every test tier: fast (fakes + real Chroma + real MiniLM) and model (real LLM).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Model files are cached across runs here: the assembled GGUF and GGUF adapter (seconds), and the
# transformers conversion the fallback-engine tests use (~40 s once).
export PAPERBRIEF_TEST_HOME="${PAPERBRIEF_TEST_HOME:-$PWD/.paperbrief/test-cache}"
export PAPERBRIEF_MODEL_DIR="${PAPERBRIEF_MODEL_DIR:-$PWD/.paperbrief/models}"
# Lint first (rules in pyproject.toml): a finding fails the run before any test.
.venv/bin/ruff check .
# the slowest tests are listed at the end: where the suite's time goes on this CPU
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 "$@"
