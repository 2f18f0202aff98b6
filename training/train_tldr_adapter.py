"""Train the SciTLDR LoRA adapter shipped for the bundled 0.5B model (`service/engines/adapters/`).

Supervised fine-tuning on SciTLDR-A *train* author TL;DRs (dev is never seen), with the product's
own TL;DR prompt (`prompts/tldr.txt`), so at run time the adapter sees exactly what it was trained
on. CPU-sized on purpose: LoRA on every linear layer of the top `--top` blocks only, so the lower
blocks run forward without a graph; the loss is taken on the TL;DR tokens only, so the 151k-word
output layer runs on the TL;DR's few positions instead of the whole prompt. Speed, time and the
ROUGE of each variant: docs/BENCHMARKS.md, "TL;DR quality (issue 4)", sessions 4 and 6.

    PAPERBRIEF_MODEL_DIR=.paperbrief/models .venv/bin/python -m training.train_tldr_adapter \
        --data ../shared/data/scitldr/train.jsonl --out .paperbrief/eval/adapter-top16.safetensors

The first step of the shipped adapter (training/README.md has the whole recipe). The train papers
it leaves out are the ones `training.heldout_ids` lists (`seeded_split`).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn
from transformers import AutoModelForCausalLM, AutoTokenizer

from index.hf import auto_device, torch_dtype
from index.models import Paper
from service.engines import model_assets
from service.engines.transformers_lm import convert_gguf
from service.prompts import load_prompt
from service.settings import Settings
from service.tldr import render_messages

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class LoraLinear(nn.Module):
    """base(x) + scale · B(A x), A random, B zero: training starts from the base model exactly."""

    def __init__(self, base: nn.Linear, rank: int, scale: float):
        super().__init__()
        self.base, self.scale = base, scale
        self.lora_A = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + ((x.float() @ self.lora_A.T) @ self.lora_B.T * self.scale).to(x.dtype)


def attach_lora(model, top: int, rank: int, scale: float) -> dict[str, LoraLinear]:
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    wrapped = {}
    first = len(model.model.layers) - top
    for index in range(first, len(model.model.layers)):
        layer = model.model.layers[index]
        for block_name, block in (("self_attn", layer.self_attn), ("mlp", layer.mlp)):
            for name in TARGETS:
                if hasattr(block, name):
                    lora = LoraLinear(getattr(block, name), rank, scale)
                    setattr(block, name, lora)
                    wrapped[f"model.layers.{index}.{block_name}.{name}"] = lora
    return wrapped


def training_pair(tokenizer, row: dict, abstract_only: bool = False,
                  words: int | None = None, style: str = "tldr") -> tuple[list[int], list[int]]:
    """(prompt ids, TL;DR ids + end-of-turn) for one SciTLDR record: its first target is the target.
    The prompt is the product's for `style`, with the title unless `abstract_only`, from at most `words`
    words of the abstract (None: all of it, as the shipped adapter's steps were trained)."""
    messages = render_messages(row_paper(row, with_title=not abstract_only), style, words=words)
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    prompt = tokenizer(text, add_special_tokens=False)["input_ids"]
    target = tokenizer(row["target"][0].strip() + "<|im_end|>", add_special_tokens=False)["input_ids"]
    return prompt, target


def row_paper(row: dict, with_title: bool = True) -> Paper:
    """One SciTLDR record as the paper the product's prompts render."""
    return Paper(id=row["paper_id"], title=row["title"] if with_title else "", abstract=" ".join(row["source"]),
                 source="scitldr")


def target_loss(model, prompt: list[int], target: list[int], max_tokens: int) -> torch.Tensor:
    ids = (prompt + target)[-max_tokens:]
    hidden = model.model(input_ids=torch.tensor([ids], device=model.device)).last_hidden_state[0, -len(target) - 1 : -1]
    return nn.functional.cross_entropy(model.lm_head(hidden).float(), torch.tensor(target, device=model.device))


def model_with_lora(args):
    """(bundle, tokenizer, model, its fresh LoRA wrappers) for the bundled 0.5B model, on `--device` in
    `--dtype` (`compute_target`); the adapter's own weights are fp32 in every case (`LoraLinear`)."""
    torch.manual_seed(args.seed)
    device, dtype = compute_target(args.device, args.dtype)
    print(f"training on {device} in {str(dtype).removeprefix('torch.')} "
          f"(CPU capability {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads)", flush=True)
    bundle = model_assets.BUNDLED["bundled"]
    model_path = model_assets.ensure_converted(bundle, Settings().model_cache, convert_gguf)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
    wrapped = attach_lora(model, args.top, args.rank, args.scale)
    return bundle, tokenizer, model.to(device), wrapped


def read_rows(path: Path) -> list[dict]:
    """The records of a SciTLDR JSON Lines file, in file order."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def seeded_split(rows: list[dict], papers: int, seed: int) -> tuple[list[dict], list[dict]]:
    """(the first `papers` records of a seeded shuffle: what `train` fine-tunes on, the rest: never seen)."""
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    return shuffled[:papers], shuffled[papers:]


def train(args) -> None:
    bundle, tokenizer, model, wrapped = model_with_lora(args)
    params = [p for lora in wrapped.values() for p in (lora.lora_A, lora.lora_B)]
    rows, _ = seeded_split(read_rows(args.data), args.papers, args.seed)
    papers, rows = len(rows), rows * args.epochs
    steps = math.ceil(len(rows) / args.accum)
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / 5) * max(0.05, 1 - step / steps))
    model.train()
    started, tokens, losses = time.time(), 0, []
    for index, row in enumerate(rows, 1):
        prompt, target = training_pair(tokenizer, row, args.abstract_only, args.source_words or None, args.style)
        loss = target_loss(model, prompt, target, args.max_tokens)
        (loss / args.accum).backward()
        losses.append(loss.item())
        tokens += min(len(prompt) + len(target), args.max_tokens)
        if index % args.accum == 0 or index == len(rows):
            optimizer.step(), schedule.step(), optimizer.zero_grad()
        if index % 50 == 0 or index == len(rows):
            recent = losses[-50:]
            print(f"{index}/{len(rows)} loss {sum(recent) / len(recent):.3f} "
                  f"{tokens / (time.time() - started):.0f} tokens/s", flush=True)
    save_adapter(wrapped, args, bundle, time.time() - started, papers)


def save_adapter(wrapped: dict[str, LoraLinear], args, bundle, seconds: float, papers: int) -> None:
    data = "SciTLDR-A train (author TL;DRs)" if args.style == "tldr" else f"{args.data.name} (SciTLDR-A train abstracts)"
    metadata = adapter_metadata(args, bundle, seconds) | {"data": data, "papers": str(papers),
                                                          "epochs": str(args.epochs)}
    write_adapter(wrapped, args.out, metadata)


def adapter_metadata(args, bundle, seconds: float) -> dict[str, str]:
    """What every adapter file records: its shape, the exact base model and prompt, the run."""
    return {"scale": str(args.scale), "rank": str(args.rank), "base_model": bundle.name,
            "base_sha256": bundle.sha256, "prompt": load_prompt(getattr(args, "style", "tldr")).key, "lr": str(args.lr),
            "seed": str(args.seed), "train_seconds": f"{seconds:.0f}",
            "input": "abstract only" if args.abstract_only else "title and abstract",
            "source_words": str(args.source_words or "all")}


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """What the adapter reads while training, so it can match the setting it is scored or used in."""
    parser.add_argument("--abstract-only", action="store_true",
                        help="leave the title out of the prompt, as SciTLDR-A's published protocol does")
    parser.add_argument("--source-words", type=int, default=0,
                        help="read at most this many words of the abstract, as the app does (0: all of it)")


def add_compute_arguments(parser: argparse.ArgumentParser) -> None:
    """Where training runs and in what precision (`compute_target`)."""
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
                        help="auto: a GPU when there is one, else the CPU")
    parser.add_argument("--dtype", choices=("auto", "bfloat16", "float32"), default="auto",
                        help="the base model's precision; auto: bf16 only where the hardware computes it natively")


def compute_target(device: str = "auto", dtype: str = "auto") -> tuple[str, torch.dtype]:
    """(device, base-model precision) to train on. `auto` trains on a GPU when there is one, and in bf16
    only where the hardware computes it natively: on an AVX2-only CPU torch emulates bf16 at a small
    fraction of fp32's speed, which turns the rebuild's hours into days (docs/BENCHMARKS.md, session 36)."""
    chosen = auto_device() if device == "auto" else device
    return chosen, torch_dtype(dtype, chosen)


def write_adapter(wrapped: dict[str, LoraLinear], out: Path, metadata: dict[str, str]) -> None:
    """The LoRA weights in bf16, in the layout `service.engines.transformers_lm.read_lora` loads (`scale` in the metadata)."""
    tensors = {}
    for module, lora in wrapped.items():
        tensors[f"{module}.lora_A"] = lora.lora_A.detach().to(torch.bfloat16).contiguous()
        tensors[f"{module}.lora_B"] = lora.lora_B.detach().to(torch.bfloat16).contiguous()
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata=metadata)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="SciTLDR train.jsonl")
    parser.add_argument("--papers", type=int, default=1400, help="first N papers after a seeded shuffle")
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--accum", type=int, default=8, help="papers per optimiser step")
    parser.add_argument("--top", type=int, default=16, help="adapt the top N transformer blocks")
    parser.add_argument("--max-tokens", type=int, default=640)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=1, help="passes over the papers")
    parser.add_argument("--style", choices=("tldr", "plain"), default="tldr",
                        help="the product prompt the targets answer (plain: targets from training.plain_targets)")
    add_input_arguments(parser)
    add_compute_arguments(parser)
    parser.add_argument("--out", type=Path,
                        default=model_assets.ADAPTER_DIR / "scitldr-qwen2.5-coder-0.5b-lora.safetensors")
    train(parser.parse_args())


if __name__ == "__main__":
    main()
