#!/usr/bin/env bash
# Quickstart: set up, ingest the bundled sample (a real Hugging Face Daily Papers page), search it,
# then the day's digest and a cited answer from the local model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PAPERBRIEF_HOME="${PAPERBRIEF_HOME:-$PWD/.paperbrief/demo}"
.venv/bin/paperbrief ingest samples/hf-daily-papers-encoder.txt
.venv/bin/paperbrief papers --date today
.venv/bin/paperbrief search "speeding up diffusion sampling" -k 3
# The day's digest: TL;DRs by the bundled local model (converted once, ~1 min), grouped by topic.
.venv/bin/paperbrief digest --date today
.venv/bin/paperbrief ask "What does TracksTo4D take as input, and does it need 3D supervision?"
