"""Average LoRA adapters ("model soup"): one adapter whose delta is the weighted mean of theirs.

For a layer adapted by several files, Σ wᵢ·sᵢ·Bᵢ(Aᵢx) = [w₁s₁B₁ | w₂s₂B₂ | …]([A₁; A₂; …]x): the A
matrices are stacked along the rank and the B matrices, scaled, side by side, so the average is exact
and needs no retraining (ranks add up). A layer only one file adapts keeps its weighted delta.

    .venv/bin/python -m training.merge_adapters a.safetensors b.safetensors --weights 0.5 0.5 --out soup.safetensors

Weights need not be positive: `after.safetensors before.safetensors --weights 1.5 -0.5` goes half a step
further along the change a training step made (after + 0.5·(after − before)). That is how the shipped
SciTLDR adapter was made from its two training steps (training/README.md; what it scored:
docs/BENCHMARKS.md, "TL;DR quality (issue 4)", session 8).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from service.engines.transformers_lm import read_lora  # the reader the model uses: the same scale convention


def merge(paths: list[Path], weights: list[float]) -> dict[str, torch.Tensor]:
    adapters = [read_lora(path) for path in paths]
    tensors = {}
    for module in sorted(set().union(*adapters)):
        held = [(adapter[module], weight)
                for adapter, weight in zip(adapters, weights, strict=True) if module in adapter]
        tensors[f"{module}.lora_A"] = torch.cat([a for (a, _), _ in held]).to(torch.bfloat16).contiguous()
        tensors[f"{module}.lora_B"] = torch.cat([b * w for (_, b), w in held], dim=1).to(torch.bfloat16).contiguous()
    return tensors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("adapters", type=Path, nargs="+")
    parser.add_argument("--weights", type=float, nargs="+", help="one a file; default: equal")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    weights = args.weights or [1 / len(args.adapters)] * len(args.adapters)
    if len(weights) != len(args.adapters):
        parser.error(f"{len(args.adapters)} adapters but {len(weights)} weights")
    with safe_open(str(args.adapters[0]), framework="pt") as file:
        first = file.metadata() or {}
    metadata = {**first, "scale": "1.0", "rank": "mixed",
                "merged_from": json.dumps([[p.name, w] for p, w in zip(args.adapters, weights, strict=True)])}
    save_file(merge(args.adapters, weights), str(args.out), metadata=metadata)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
