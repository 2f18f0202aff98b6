"""Foundation benchmarks: ingest throughput, search latency, SciFact retrieval quality.

    .venv/bin/python -m bench.index_bench --corpus ../shared/data/scifact/corpus.jsonl \
        --queries ../shared/data/scifact/queries.train.jsonl --qrels ../shared/data/scifact/qrels.train.tsv

Prints a JSON summary (and writes it to --out). Throughput is the median of --runs full ingests
into fresh stores; latency is p50/p95 over every query after a warm-up. Results: docs/BENCHMARKS.md,
"Foundation (issue 3)".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from index.sources import parse_file
from service.evaluation.retrieval_eval import load_qrels, load_queries
from service.evaluation.retrieval_metrics import mean_over_queries, ndcg_at_k, recall_at_k
from service.evaluation.runner import percentile
from service.library import Library
from service.search import MODES
from service.settings import Settings


def ingest_once(corpus: Path, home: Path, embedder) -> tuple[Library, float, int]:
    library = Library(Settings(home=home), embedder=embedder)
    started = time.perf_counter()
    parsed = parse_file(corpus)
    report = library.ingest([parsed]).report
    return library, time.perf_counter() - started, report.papers


def ingest_rates(corpus: Path, runs: int, embedder) -> tuple[Library, int, list[float]]:
    """Full ingests of `corpus` into fresh stores: (the last store, its abstracts, abstracts/s per run)."""
    rates, library, papers = [], None, 0
    for _ in range(runs):
        home = Path(tempfile.mkdtemp(prefix="pb-bench-"))
        library, seconds, papers = ingest_once(corpus, home, embedder)
        rates.append(papers / seconds)
        print(f"ingest: {papers} abstracts in {seconds:.1f} s = {papers / seconds:.1f}/s", file=sys.stderr)
    return library, papers, rates


def mode_results(library: Library, mode: str, queries: dict[str, str], qrels) -> dict:
    """nDCG@10, Recall@100 and latency p50/p95 (k=100) of one search mode over every query."""
    runs, latencies = {}, []
    library.search("warm-up query", k=100, mode=mode)
    for qid, text in queries.items():
        started = time.perf_counter()
        hits = library.search(text, k=100, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        runs[qid] = [hit.paper.id for hit in hits]
    return {
        "ndcg@10": round(mean_over_queries(runs, qrels, ndcg_at_k, 10), 4),
        "recall@100": round(mean_over_queries(runs, qrels, recall_at_k, 100), 4),
        "latency_ms_p50": round(percentile(latencies, 0.5), 1),
        "latency_ms_p95": round(percentile(latencies, 0.95), 1),
        "queries": len(runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--qrels", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3, help="full ingests for the throughput median")
    parser.add_argument("--out", type=Path, default=Path("bench/results/index.json"))
    args = parser.parse_args()

    from index.embedding import LocalEmbedder

    embedder = LocalEmbedder("minilm")
    embedder.embed_batch(["warm-up"])
    library, papers, rates = ingest_rates(args.corpus, args.runs, embedder)
    qrels = load_qrels(args.qrels)
    queries = {query.id: query.text for query in load_queries(args.queries) if query.id in qrels}
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
               "abstracts": papers, "ingest_abstracts_per_s": {"median": statistics.median(rates), "runs": rates}}
    for mode in MODES:
        results[mode] = mode_results(library, mode, queries, qrels)
        print(mode, results[mode], file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
