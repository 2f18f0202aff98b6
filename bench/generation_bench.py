"""Generation benchmark: model load time, time to first token, decode tokens/s, batched throughput, memory.

    .venv/bin/python -m bench.generation_bench --runs 3 --engine llamacpp --out bench/results/generation-llamacpp.json
    ATEN_CPU_CAPABILITY=avx2 .venv/bin/python -m bench.generation_bench --runs 3 --engine transformers \
        --out bench/results/generation-transformers-avx2.json

Prompts are TL;DR-style chats over SciFact abstracts padded to ~--lengths prompt tokens. Streaming
(one request): TTFT = first text piece; prefill rate = prompt tokens / TTFT; decode rate = new tokens
after the first / time after it.
Batched: one `generate` of --batch prompts, total new tokens / wall time. The 1-minute load average
is recorded beside each number: the machine is shared, and contention shows up in every figure.
Results: docs/BENCHMARKS.md, "Engines" and "Generation: time to first token, tokens/s, memory".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from bench.machine import machine
from bench.scale_bench import memory_mb
from bench.synthetic import read_corpus
from service.engines.factory import shared_generator
from service.settings import Settings


def prompt_of_length(generator, abstracts: list[str], tokens: int) -> list[dict[str, str]]:
    """A TL;DR request whose abstract text is cut to about `tokens` generator tokens."""
    words, text = " ".join(abstracts).split(), ""
    for end in range(50, len(words), 25):
        text = " ".join(words[:end])
        if generator.count_tokens(text) >= tokens:
            break
    return [{"role": "system", "content": "You summarise research papers in one sentence."},
            {"role": "user", "content": f"{text}\n\nSummarise the text above in detail."}]


def stream_once(generator, messages, max_new_tokens: int) -> dict:
    prompt_tokens = sum(generator.count_tokens(m["content"]) for m in messages)
    started = time.perf_counter()
    first, pieces = None, []
    for piece in generator.stream(messages, max_new_tokens=max_new_tokens):
        if first is None:
            first = time.perf_counter()
        pieces.append(piece)
    ended = time.perf_counter()
    new_tokens = generator.count_tokens("".join(pieces))
    decode_s = ended - (first or ended)
    ttft = (first or ended) - started
    return {"ttft_s": round(ttft, 3), "prompt_tokens": prompt_tokens, "prefill_tok_s": round(prompt_tokens / ttft, 1),
            "new_tokens": new_tokens,
            "decode_tok_s": round((new_tokens - 1) / decode_s, 2) if decode_s > 0 else None,
            "loadavg": round(os.getloadavg()[0], 2)}


def batched_once(generator, batch: list[list[dict[str, str]]], max_new_tokens: int) -> dict:
    started = time.perf_counter()
    outputs = generator.generate(batch, max_new_tokens=max_new_tokens)
    seconds = time.perf_counter() - started
    tokens = sum(generator.count_tokens(text) for text in outputs)
    return {"batch": len(batch), "new_tokens": tokens, "seconds": round(seconds, 2),
            "tok_s": round(tokens / seconds, 2), "loadavg": round(os.getloadavg()[0], 2)}


def median_of(rows: list[dict], key: str) -> float | None:
    values = [row[key] for row in rows if row.get(key) is not None]
    return round(statistics.median(values), 3) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("../shared/data/scifact/corpus.jsonl"))
    parser.add_argument("--lengths", default="100,400,1000", help="prompt lengths in tokens")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--engine", choices=["auto", "llamacpp", "transformers"], default="auto")
    parser.add_argument("--out", type=Path, default=Path("bench/results/generation.json"))
    args = parser.parse_args()
    abstracts = [doc["text"] for doc in read_corpus(args.corpus)[:40]]
    before, started = memory_mb(), time.perf_counter()
    generator = shared_generator(Settings(home=Path(".paperbrief/test-cache"), engine=args.engine))
    results = {"machine": machine(), "command": " ".join(sys.argv), "engine": getattr(generator, "engine", "?"),
               "model": generator.name, "load_s": round(time.perf_counter() - started, 1),
               "memory_before_load": before, "memory_after_load": memory_mb(), "streaming": {}}
    stream_once(generator, prompt_of_length(generator, abstracts, 50), 8)  # warm-up
    for length in (int(n) for n in args.lengths.split(",")):
        # A different text per run: a repeated prompt would be served from the prefix cache.
        runs = [stream_once(generator, prompt_of_length(generator, abstracts[length % 7 + 3 * run :], length),
                            args.new_tokens) for run in range(args.runs)]
        results["streaming"][length] = {"ttft_s": median_of(runs, "ttft_s"),
                                        "prefill_tok_s": median_of(runs, "prefill_tok_s"),
                                        "decode_tok_s": median_of(runs, "decode_tok_s"), "runs": runs}
        print(length, results["streaming"][length], file=sys.stderr, flush=True)
    batch = [prompt_of_length(generator, abstracts[i:], 300) for i in range(args.batch)]
    results["batched_300_token_prompts"] = batched_once(generator, batch, 48)
    results["memory_after_generation"] = memory_mb()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
