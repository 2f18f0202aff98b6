#!/usr/bin/env bash
# Quickstart: set up, ingest the bundled sample (a real Hugging Face Daily Papers page) if the store
# is empty, search it from the CLI, then serve the web app and the HTTP API on http://127.0.0.1:7860.
# Extra arguments go to `paperbrief serve` (e.g. --port 8080, --no-auto-tldr).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PAPERBRIEF_HOME="${PAPERBRIEF_HOME:-$PWD/.paperbrief/demo}"
papers=$(.venv/bin/paperbrief stats --json | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["papers"])')
if [ "$papers" = "0" ]; then
    .venv/bin/paperbrief ingest samples/hf-daily-papers-encoder.txt
fi
.venv/bin/paperbrief papers --date today | tail -n 3
.venv/bin/paperbrief search "speeding up diffusion sampling" -k 3
# The Today page writes TL;DRs with the bundled local model as it opens (assembled once, a few seconds).
# `serve` prints the URL once it listens: http://127.0.0.1:7860 unless --port says otherwise.
exec .venv/bin/paperbrief serve "$@"
