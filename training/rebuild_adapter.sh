#!/usr/bin/env bash
# Rebuild the shipped SciTLDR adapter from the SciTLDR train split, end to end, in one command:
#
#     bash training/rebuild_adapter.sh [TRAIN_JSONL] [OUT_DIR]
#
# Defaults: ../shared/data/scitldr/train.jsonl and .paperbrief/rebuild. Writes, in OUT_DIR, each step's
# adapter, the final one (adapter.safetensors, the format the transformers engine and the repository
# ship) and its GGUF LoRA (adapter.gguf, the file the llama.cpp engine loads). Steps as in
# training/README.md; ≈ 95 min on a 2-core CPU with AVX-512 BF16, ≈ 2.5 h on an AVX2-only one (fp32 there:
# precision follows the hardware), minutes on a GPU (used when there is one). PAPERS (default 1400) sets
# step 1's papers; a train file of a few dozen lines with PAPERS=16 makes a quick trial run of the whole
# chain (not the weights).
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN="${1:-../shared/data/scitldr/train.jsonl}"
OUT="${2:-.paperbrief/rebuild}"
PAPERS="${PAPERS:-1400}"
PY=.venv/bin/python
export PAPERBRIEF_MODEL_DIR="${PAPERBRIEF_MODEL_DIR:-.paperbrief/models}" HF_HUB_OFFLINE=1
mkdir -p "$OUT"

echo "1/6 LoRA on the author TL;DRs of $PAPERS train papers"
$PY -m training.train_tldr_adapter --data "$TRAIN" --papers "$PAPERS" --top 16 --out "$OUT/adapter-top16.safetensors"
echo "2/6 the train papers step 1 left out"
$PY -m training.heldout_ids --data "$TRAIN" --papers "$PAPERS" --out "$OUT/train-heldout-ids.txt"
echo "3/6 step 1's adapter continued on them (cross-entropy)"
$PY -m training.train_tldr_ranking --data "$TRAIN" --ids "$OUT/train-heldout-ids.txt" \
    --start "$OUT/adapter-top16.safetensors" --rank-weight 0 --mle-weight 1 --lr 1e-4 \
    --out "$OUT/adapter-sft592.safetensors"
echo "4/6 half a step further along step 3's change"
$PY -m training.merge_adapters "$OUT/adapter-sft592.safetensors" "$OUT/adapter-top16.safetensors" \
    --weights 1.5 -0.5 --out "$OUT/adapter.safetensors"
echo "5/6 the GGUF LoRA the llama.cpp engine loads"
$PY -m training.export_gguf_lora "$OUT/adapter.safetensors" --out "$OUT/adapter.gguf"
echo "6/6 to ship it: cp $OUT/adapter.safetensors service/engines/adapters/scitldr-qwen2.5-coder-0.5b-lora.safetensors"
