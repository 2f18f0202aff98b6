#!/usr/bin/env bash
# Quickstart: set up, ingest the bundled sample (a real Hugging Face Daily Papers page), search it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PAPERBRIEF_HOME="${PAPERBRIEF_HOME:-$PWD/.paperbrief/demo}"
.venv/bin/paperbrief ingest samples/hf-daily-papers-encoder.txt
.venv/bin/paperbrief papers --date today
.venv/bin/paperbrief search "speeding up diffusion sampling" -k 3
.venv/bin/paperbrief stats
