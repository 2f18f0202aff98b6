"""Second stage for the SciTLDR adapter: teach it to rank its own beams the way ROUGE ranks them.

The tuned writer keeps the best-scored of 4 beams, but the beam the gold TL;DR likes best is often
another one (oracle beam 43.8 R1 against 39.3 for the choice on SciTLDR dev). This calibrates the
adapter on *train* papers it was not fine-tuned on (the 592 left out of `train_tldr_adapter.py`'s
seeded 1,400): for each, the 4 beams dumped by `bench/tldr_beams.py` are ordered by ROUGE-1+2
against the author's TL;DR, and a pairwise margin loss on the beams' mean token log-probabilities
(BRIO, Liu et al. 2022) pushes the better beam above the worse one, plus the usual cross-entropy on
the author's TL;DR so the writer does not drift. The prompt's keys/values are computed once without
a graph (the adapter on) and shared by the paper's candidates: only the ≈ 25 candidate tokens are
trained through, so a paper costs about one prefill.

    PAPERBRIEF_MODEL_DIR=.paperbrief/models .venv/bin/python bench/tldr_beams.py \
        --data ../shared/data/scitldr/train.jsonl --only .paperbrief/eval/train-heldout-ids.txt \
        --out .paperbrief/eval/beams4-train592.jsonl
    PAPERBRIEF_MODEL_DIR=.paperbrief/models .venv/bin/python bench/train_tldr_ranking.py \
        --data ../shared/data/scitldr/train.jsonl --beams .paperbrief/eval/beams4-train592.jsonl \
        --out .paperbrief/eval/adapter-ranked.safetensors

With `--rank-weight 0 --mle-weight 1` it is plain continued fine-tuning on those 592 papers' author
TL;DRs: that is the shipped adapter's second step (SciTLDR dev R1 39.30 → 39.89, then 40.09 once
extrapolated with `merge_adapters.py`); a pass over all 1,992 train papers lost 0.7; the ranking
itself made the TL;DRs shorter for no gain (docs/BENCHMARKS.md, session 7).

A development tool, like the rest of bench/: it imports torch directly.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402
from train_tldr_adapter import LoraLinear, adapter_metadata, model_with_lora, training_pair, write_adapter  # noqa: E402

from service.engines import model_assets  # noqa: E402
from service.engines.transformers_lm import read_lora  # noqa: E402

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
    with torch.no_grad():
        cache = model.model(input_ids=torch.tensor([prompt[:-1]]), use_cache=True).past_key_values
    cache.batch_repeat_interleave(len(continuations))
    longest = max(len(c) for c in continuations)
    targets = torch.tensor([c + [pad_id] * (longest - len(c)) for c in continuations])
    inputs = torch.cat([torch.full((len(continuations), 1), prompt[-1]), targets[:, :-1]], dim=1)
    mask = torch.tensor([[1] * len(c) + [0] * (longest - len(c)) for c in continuations])
    full_mask = torch.cat([torch.ones(len(continuations), len(prompt) - 1, dtype=mask.dtype), mask], dim=1)
    hidden = model.model(input_ids=inputs, attention_mask=full_mask, past_key_values=cache).last_hidden_state
    logprobs = torch.log_softmax(model.lm_head(hidden).float(), dim=-1)
    picked = logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1) * mask
    return picked.sum(-1) / mask.sum(-1)


def paper_loss(model, tokenizer, row: dict, beams: list[dict], scorer, args) -> torch.Tensor | None:
    gold = row["target"][0].strip()
    ranked = ranked_candidates(beams, gold, scorer) if args.rank_weight else []  # cross-entropy only: no beams
    if args.rank_weight and (len(ranked) < 2 or ranked[0][1] - ranked[-1][1] < args.min_gap):
        return None  # nothing to rank
    prompt, gold_ids = training_pair(tokenizer, row)
    candidates = [tokenizer(text + END, add_special_tokens=False)["input_ids"] for text, _ in ranked]
    scores = sequence_logprobs(model, prompt, candidates + [gold_ids], tokenizer.pad_token_id)
    gold_nll = -scores[-1]
    rank_loss = torch.zeros(())
    for better in range(len(ranked)):
        for worse in range(better + 1, len(ranked)):
            length_gap = abs(len(ranked[better][0].split()) - len(ranked[worse][0].split()))
            if ranked[better][1] - ranked[worse][1] >= args.min_gap and length_gap <= args.max_length_gap:
                margin = args.margin * (worse - better)
                rank_loss = rank_loss + torch.relu(scores[worse] - scores[better] + margin)
    return args.rank_weight * rank_loss + args.mle_weight * gold_nll


def train(args) -> None:
    bundle, tokenizer, model, wrapped = model_with_lora(args)
    load_into(wrapped, args.start)
    params = [p for lora in wrapped.values() for p in (lora.lora_A, lora.lora_B)]
    rows = {r["paper_id"]: r for r in map(json.loads, args.data.read_text().splitlines()) if r}
    dumped = [json.loads(line) for line in args.beams.read_text().splitlines() if line.strip()]
    random.Random(args.seed).shuffle(dumped)
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=False)
    model.train()
    started, losses, used = time.time(), [], 0
    plan = [d for _ in range(args.epochs) for d in dumped]
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
        "data": f"SciTLDR-A train (author TL;DRs), then ranking on its own beams of {args.beams.name}",
        "ranking": f"margin {args.margin}, rank weight {args.rank_weight}, mle weight {args.mle_weight}, "
                   f"max length gap {args.max_length_gap}, epochs {args.epochs}"}
    write_adapter(wrapped, args.out, metadata)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="SciTLDR train.jsonl (the golds)")
    parser.add_argument("--beams", type=Path, required=True, help="tldr_beams.py dump over train papers")
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
    parser.add_argument("--out", type=Path, required=True)
    train(parser.parse_args())


if __name__ == "__main__":
    main()
