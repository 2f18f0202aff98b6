"""Second stage for the SciTLDR adapter: continue it on unseen train papers, or teach it to rank its
own beams the way ROUGE ranks them.

Runs on *train* papers the adapter was not fine-tuned on (those `training.heldout_ids` lists: left out
of `train_tldr_adapter`'s seeded split). The loss is `--mle-weight` × cross-entropy on each paper's
author TL;DR plus `--rank-weight` × a pairwise margin loss on the mean token log-probabilities of the
paper's beams, dumped beforehand by `bench.tldr_beams` and ordered by ROUGE-1+2 against the author's
TL;DR (BRIO, Liu et al. 2022): it pushes the better beam above the worse one. The prompt's
keys/values are computed once without a graph (the adapter on) and shared by the paper's candidates:
only the candidate tokens are trained through, so a paper costs about one prefill.

With `--rank-weight 0 --mle-weight 1` it is plain continued fine-tuning on those papers' author
TL;DRs, and needs no beams (`--ids`): that is the shipped adapter's second step (training/README.md).
What each variant scored, and how long it took: docs/BENCHMARKS.md, "TL;DR quality (issue 4)",
sessions 7 and 8.

    PAPERBRIEF_MODEL_DIR=.paperbrief/models .venv/bin/python -m training.train_tldr_ranking \
        --data ../shared/data/scitldr/train.jsonl --ids .paperbrief/eval/train-heldout-ids.txt \
        --start .paperbrief/eval/adapter-top16.safetensors --rank-weight 0 --mle-weight 1 --lr 1e-4 \
        --out .paperbrief/eval/adapter-sft592.safetensors
    PAPERBRIEF_MODEL_DIR=.paperbrief/models .venv/bin/python -m bench.tldr_beams \
        --data ../shared/data/scitldr/train.jsonl --only .paperbrief/eval/train-heldout-ids.txt \
        --out .paperbrief/eval/beams4-train592.jsonl
    PAPERBRIEF_MODEL_DIR=.paperbrief/models .venv/bin/python -m training.train_tldr_ranking \
        --data ../shared/data/scitldr/train.jsonl --beams .paperbrief/eval/beams4-train592.jsonl \
        --out .paperbrief/eval/adapter-ranked.safetensors
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch
from rouge_score import rouge_scorer

from service.engines import model_assets
from service.engines.transformers_lm import read_lora
from training.train_tldr_adapter import (
    LoraLinear,
    adapter_metadata,
    add_compute_arguments,
    add_input_arguments,
    model_with_lora,
    read_rows,
    training_pair,
    write_adapter,
)

END = "<|im_end|>"


def load_into(wrapped: dict[str, LoraLinear], path: Path) -> None:
    """Start from a trained adapter: A and B from the file (its scale must be the wrapper's)."""
    deltas = read_lora(path)
    scale = next(iter(wrapped.values())).scale
    if set(deltas) != set(wrapped):
        raise SystemExit(f"{path}: adapts {len(deltas)} modules, the model was wrapped on {len(wrapped)}")
    with torch.no_grad():
        for module, (lora_a, scaled_b) in deltas.items():
            wrapped[module].lora_A.copy_(lora_a)
            wrapped[module].lora_B.copy_(scaled_b / scale)


def ranked_candidates(beams: list[dict], gold: str, scorer) -> list[tuple[str, float]]:
    """The distinct beam texts, best first by ROUGE-1 + ROUGE-2 F against the gold."""
    scored = {}
    for beam in beams:
        text = beam["text"].strip()
        if text and text not in scored:
            result = scorer.score(gold, text)
            scored[text] = result["rouge1"].fmeasure + result["rouge2"].fmeasure
    return sorted(scored.items(), key=lambda pair: -pair[1])


def sequence_logprobs(model, prompt: list[int], continuations: list[list[int]], pad_id: int) -> torch.Tensor:
    """Mean token log-probability of each continuation after the prompt. The prompt (but its last
    token) runs once without a graph; its last token then starts every continuation, so only the
    continuations' positions are trained through and the output layer runs on them only."""
    device = model.device
    with torch.no_grad():
        cache = model.model(input_ids=torch.tensor([prompt[:-1]], device=device), use_cache=True).past_key_values
    cache.batch_repeat_interleave(len(continuations))
    longest = max(len(c) for c in continuations)
    targets = torch.tensor([c + [pad_id] * (longest - len(c)) for c in continuations], device=device)
    inputs = torch.cat([torch.full((len(continuations), 1), prompt[-1], device=device), targets[:, :-1]], dim=1)
    mask = torch.tensor([[1] * len(c) + [0] * (longest - len(c)) for c in continuations], device=device)
    full_mask = torch.cat([torch.ones(len(continuations), len(prompt) - 1, dtype=mask.dtype, device=device), mask],
                          dim=1)
    hidden = model.model(input_ids=inputs, attention_mask=full_mask, past_key_values=cache).last_hidden_state
    logprobs = torch.log_softmax(model.lm_head(hidden).float(), dim=-1)
    picked = logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1) * mask
    return picked.sum(-1) / mask.sum(-1)


def paper_loss(model, tokenizer, row: dict, beams: list[dict], scorer, args) -> torch.Tensor | None:
    gold = row["target"][0].strip()
    ranked = ranked_candidates(beams, gold, scorer) if args.rank_weight else []  # cross-entropy only: no beams
    if args.rank_weight and (len(ranked) < 2 or ranked[0][1] - ranked[-1][1] < args.min_gap):
        return None  # nothing to rank
    prompt, gold_ids = training_pair(tokenizer, row, args.abstract_only, args.source_words or None)
    candidates = [tokenizer(text + END, add_special_tokens=False)["input_ids"] for text, _ in ranked]
    scores = sequence_logprobs(model, prompt, candidates + [gold_ids], tokenizer.pad_token_id)
    gold_nll = -scores[-1]
    rank_loss = torch.zeros((), device=model.device)
    for better in range(len(ranked)):
        for worse in range(better + 1, len(ranked)):
            length_gap = abs(len(ranked[better][0].split()) - len(ranked[worse][0].split()))
            if ranked[better][1] - ranked[worse][1] >= args.min_gap and length_gap <= args.max_length_gap:
                margin = args.margin * (worse - better)
                rank_loss = rank_loss + torch.relu(scores[worse] - scores[better] + margin)
    return args.rank_weight * rank_loss + args.mle_weight * gold_nll


def papers_to_visit(args, rows: dict[str, dict]) -> list[dict]:
    """`{"paper_id", "beams"}` per paper, in a seeded shuffle. With `--ids` the beams are empty (cross-entropy
    only) and the papers start in `bench.tldr_beams`' dump order (shortest abstract first), so the shuffle
    visits them as a run over that dump of the same papers does."""
    if args.beams:
        visit = [json.loads(line) for line in args.beams.read_text().splitlines() if line.strip()]
    else:
        ids = set(args.ids.read_text().split())
        chosen = sorted((row for row in rows.values() if row["paper_id"] in ids),
                        key=lambda row: len(" ".join(row["source"])))
        visit = [{"paper_id": row["paper_id"], "beams": []} for row in chosen]
    random.Random(args.seed).shuffle(visit)
    return visit


def train(args) -> None:
    bundle, tokenizer, model, wrapped = model_with_lora(args)
    load_into(wrapped, args.start)
    params = [p for lora in wrapped.values() for p in (lora.lora_A, lora.lora_B)]
    rows = {row["paper_id"]: row for row in read_rows(args.data)}
    visit = papers_to_visit(args, rows)
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=False)
    model.train()
    started, losses, used = time.time(), [], 0
    plan = [item for _ in range(args.epochs) for item in visit]
    for index, item in enumerate(plan, 1):
        loss = paper_loss(model, tokenizer, rows[item["paper_id"]], item["beams"], scorer, args)
        if loss is not None:
            (loss / args.accum).backward()
            losses.append(loss.item())
            used += 1
            if used % args.accum == 0:
                optimizer.step(), optimizer.zero_grad()
        if index % 50 == 0 or index == len(plan):
            recent = losses[-50:] or [0.0]
            print(f"{index}/{len(plan)} papers ({used} used) loss {sum(recent) / len(recent):.4f} "
                  f"{time.time() - started:.0f} s", flush=True)
    save(wrapped, args, bundle, time.time() - started)


def save(wrapped: dict[str, LoraLinear], args, bundle, seconds: float) -> None:
    metadata = adapter_metadata(args, bundle, seconds) | {
        "data": f"SciTLDR-A train (author TL;DRs), then the papers of {(args.beams or args.ids).name}",
        "ranking": f"margin {args.margin}, rank weight {args.rank_weight}, mle weight {args.mle_weight}, "
                   f"max length gap {args.max_length_gap}, epochs {args.epochs}"}
    write_adapter(wrapped, args.out, metadata)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="SciTLDR train.jsonl (the golds)")
    papers = parser.add_mutually_exclusive_group(required=True)
    papers.add_argument("--beams", type=Path, help="a bench.tldr_beams dump over train papers (their beams are ranked)")
    papers.add_argument("--ids", type=Path, help="train paper ids, one a line (cross-entropy only: --rank-weight 0)")
    parser.add_argument("--start", type=Path,
                        default=model_assets.ADAPTER_DIR / "scitldr-qwen2.5-coder-0.5b-lora.safetensors")
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--top", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--accum", type=int, default=8, help="papers per optimiser step")
    parser.add_argument("--margin", type=float, default=0.02, help="per rank step, in mean log-prob")
    parser.add_argument("--min-gap", type=float, default=0.02, help="ROUGE-1+2 difference that counts")
    parser.add_argument("--max-length-gap", type=int, default=1000,
                        help="rank only beams within this many words of each other (keeps length out of it)")
    parser.add_argument("--rank-weight", type=float, default=1.0)
    parser.add_argument("--mle-weight", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    add_input_arguments(parser)
    add_compute_arguments(parser)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.ids and args.rank_weight:
        parser.error("--ids gives no beams to rank: add --rank-weight 0, or dump beams with bench.tldr_beams")
    train(args)


if __name__ == "__main__":
    main()
