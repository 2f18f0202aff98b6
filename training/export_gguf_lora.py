"""Step 6 of the recipe: the adapter written as the GGUF LoRA file the llama.cpp engine loads.

    python -m training.export_gguf_lora ADAPTER.safetensors --out ADAPTER.gguf [--model bundled]

The engine writes the same file into its model cache on first use (service/engines/gguf_lora.py); this
step makes it explicit, so a rebuilt adapter can be checked and shipped as the engine will load it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from service.engines.gguf_lora import write_gguf_lora
from service.engines.model_assets import BUNDLED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("adapter", type=Path, help="a paperbrief LoRA adapter (.safetensors)")
    parser.add_argument("--out", type=Path, required=True, help="the GGUF LoRA file to write")
    parser.add_argument("--model", default="bundled", choices=sorted(BUNDLED), help="the model it adapts")
    args = parser.parse_args()
    bundle = BUNDLED[args.model]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_gguf_lora(args.adapter, args.out, bundle.architecture, bundle.blocks)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) for {bundle.name}")


if __name__ == "__main__":
    main()
