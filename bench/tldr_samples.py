"""Best-of-N TL;DRs on llama.cpp (which has no beam search): every candidate dumped, choices scored offline.

For each paper: the tuned writer's greedy TL;DR and N-1 samples (temperature 0.7), each with its
summed and mean token log-probability, from the product's own writer (the bundled model on llama.cpp
with the SciTLDR adapter, `AdaptedLlamaCpp.scored_candidates`). `--score` compares choice rules
through the product's `choose_summary` (the best-ranked draft within 30 words), with paired
differences against greedy and their standard errors. Resumable: papers already in `--out` are skipped.
Results: docs/BENCHMARKS.md, "TL;DR quality on the llama.cpp engine".

    .venv/bin/python -m bench.tldr_samples --data ../shared/data/scitldr/dev.jsonl --samples 4 \
        --out .paperbrief/eval/samples4.jsonl
    .venv/bin/python -m bench.tldr_samples --data ../shared/data/scitldr/dev.jsonl \
        --out .paperbrief/eval/samples4.jsonl --score
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

from service.evaluation.rouge_protocol import best_gold_scores, load_scitldr
from service.evaluation.tldr_eval import as_paper
from service.tldr import MAX_NEW_TOKENS, choose_summary, clean_summary, render_messages


def dump(args) -> None:
    from service.engines.factory import make_generator
    from service.settings import Settings

    items = load_scitldr(Path(args.data), args.limit)
    out = Path(args.out)
    done = {json.loads(line)["paper_id"] for line in out.read_text().splitlines() if line.strip()} \
        if out.exists() else set()
    todo = sorted((i for i in items if i.paper_id not in done), key=lambda i: len(i.abstract))
    tuned = make_generator(Settings(engine="llamacpp", tuned_samples=args.samples)).tuned_for("tldr")
    started = time.perf_counter()
    with out.open("a") as sink:
        for start in range(0, len(todo), args.batch):
            batch = todo[start : start + args.batch]
            found = tuned.scored_candidates([render_messages(as_paper(item), "tldr") for item in batch],
                                            max_new_tokens=MAX_NEW_TOKENS["tldr"], stop=["\n\n", "<paper>"])
            for item, candidates in zip(batch, found, strict=True):
                sink.write(json.dumps({"paper_id": item.paper_id, "candidates": candidates}) + "\n")
            sink.flush()
            print(f"{start + len(batch)}/{len(todo)} papers, {time.perf_counter() - started:.0f} s", flush=True)


def rules() -> dict:
    """name -> order(candidates) -> texts best first (fed to the product's choose_summary); None = oracle."""
    def by_mean(found):
        return [c["text"] for c in sorted(found, key=lambda c: -c["mean_logprob"])]

    def by_sum(found):
        return [c["text"] for c in sorted(found, key=lambda c: -c["logprob"])]

    from rouge_score import rouge_scorer

    pair = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=False)

    def consensus(found):  # minimum Bayes risk: the candidate the others agree with most
        texts = [c["text"] for c in found]

        def agreement(i: int) -> float:
            return sum(s["rouge1"].fmeasure + s["rouge2"].fmeasure
                       for s in (pair.score(texts[j], texts[i]) for j in range(len(texts)) if j != i))
        return [texts[i] for i in sorted(range(len(texts)), key=lambda i: -agreement(i))]

    return {
        "greedy": lambda found: [found[0]["text"]],
        "MBR (R1+R2 agreement)": consensus,
        "greedy, then samples by mean log-prob (shipped)": lambda found: [c["text"] for c in found],
        "all by mean log-prob": by_mean,
        "all by summed log-prob": by_sum,
        "oracle": None,
    }


def score(args) -> None:
    items = {i.paper_id: i for i in load_scitldr(Path(args.data), args.limit)}
    rows = [json.loads(line) for line in Path(args.out).read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["paper_id"] in items]
    baseline = None
    for name, order in rules().items():
        r1, results = [], []
        for row in rows:
            item = items[row["paper_id"]]
            if order is None:
                cleaned = [clean_summary(c["text"], as_paper(item), "tldr") for c in row["candidates"]]
                picked = max(cleaned, key=lambda t: best_gold_scores(t, item.golds, False)[0])
            else:
                picked = choose_summary(order(row["candidates"]), as_paper(item), "tldr")
            results.append(best_gold_scores(picked, item.golds, False))
            r1.append(results[-1][0])
        means = [round(statistics.fmean(r[k] for r in results), 2) for k in range(3)]
        baseline = baseline or r1
        diffs = [a - b for a, b in zip(r1, baseline, strict=True)]  # the same papers, rule by rule
        se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else 0.0
        print(f"{name:>48}: R1/R2/RL {means[0]} / {means[1]} / {means[2]}  "
              f"(paired R1 vs greedy {statistics.fmean(diffs):+.2f} ± {se:.2f} SE, {len(results)} papers)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--samples", type=int, default=4, help="candidates per paper, greedy included")
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--score", action="store_true", help="score the dumped candidates instead of generating")
    args = parser.parse_args()
    score(args) if args.score else dump(args)


if __name__ == "__main__":
    main()
