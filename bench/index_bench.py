"""Foundation benchmarks: ingest throughput, search latency, SciFact retrieval quality.

    .venv/bin/python bench/index_bench.py --corpus ../shared/data/scifact/corpus.jsonl \
        --queries ../shared/data/scifact/queries.train.jsonl --qrels ../shared/data/scifact/qrels.train.tsv

Prints a JSON summary (and writes it to --out). Throughput is the median of --runs full ingests
into fresh stores; latency is p50/p95 over every query after a warm-up.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.sources import parse_file  # noqa: E402
from service.evaluation.retrieval_metrics import mean_over_queries, ndcg_at_k, recall_at_k  # noqa: E402
from service.library import Library  # noqa: E402
from service.search import MODES  # noqa: E402
from service.settings import Settings  # noqa: E402


def load_queries(path: Path) -> dict[str, str]:
    return {row["_id"]: row["text"] for row in map(json.loads, path.open())}


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[f"scifact-{row['corpus-id']}"] = int(row["score"])
    return qrels


def ingest_once(corpus: Path, home: Path, embedder) -> tuple[Library, float, int]:
    library = Library(Settings(home=home), embedder=embedder)
    started = time.perf_counter()
    parsed = parse_file(corpus)
    report = library.ingest([parsed]).report
    return library, time.perf_counter() - started, report.papers


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


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
    rates, library = [], None
    for _ in range(args.runs):
        home = Path(tempfile.mkdtemp(prefix="pb-bench-"))
        library, seconds, papers = ingest_once(args.corpus, home, embedder)
        rates.append(papers / seconds)
        print(f"ingest: {papers} abstracts in {seconds:.1f} s = {papers / seconds:.1f}/s", file=sys.stderr)

    queries, qrels = load_queries(args.queries), load_qrels(args.qrels)
    queries = {qid: text for qid, text in queries.items() if qid in qrels}
    results = {"machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
               "abstracts": papers, "ingest_abstracts_per_s": {"median": statistics.median(rates), "runs": rates}}
    for mode in MODES:
        runs, latencies = {}, []
        library.search("warm-up query", k=100, mode=mode)
        for qid, text in queries.items():
            started = time.perf_counter()
            hits = library.search(text, k=100, mode=mode)
            latencies.append((time.perf_counter() - started) * 1000)
            runs[qid] = [hit.paper.id for hit in hits]
        results[mode] = {
            "ndcg@10": round(mean_over_queries(runs, qrels, ndcg_at_k, 10), 4),
            "recall@100": round(mean_over_queries(runs, qrels, recall_at_k, 100), 4),
            "latency_ms_p50": round(percentile(latencies, 0.5), 1),
            "latency_ms_p95": round(percentile(latencies, 0.95), 1),
            "queries": len(runs),
        }
        print(mode, results[mode], file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
