"""Scale benchmark: ingest throughput and search latency vs corpus size (up to 100k abstracts), memory.

    .venv/bin/python -m bench.scale_bench --corpus ../shared/data/scifact/corpus.jsonl \
        --queries ../shared/data/scifact/queries.train.jsonl --qrels ../shared/data/scifact/qrels.train.tsv

1. Full pipeline (real MiniLM embeddings) into one growing store: abstracts/s per step (--real-sizes).
2. A store grown to each of --sizes: the real SciFact abstracts, then synthetic ones made from them
   (`bench.synthetic`), with vectors from the sentence-mean shortcut (real sentence embeddings,
   averaged per chunk). Per step: ingest rate without the embedding model, then search latency
   p50/p95 per mode at k=10 over --n-queries SciFact train claims (embedded for real), hybrid
   nDCG@10 (the synthetic abstracts act as distractors), RSS and store size on disk.
Results go to --out after every step; a rerun reuses the grown store under --work. Figures:
docs/BENCHMARKS.md, "Scale: ingest throughput and search latency vs corpus size".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

from bench import synthetic
from index.sources import parse_file
from service.evaluation.retrieval_eval import load_qrels, load_queries
from service.evaluation.retrieval_metrics import mean_over_queries, ndcg_at_k
from service.evaluation.runner import percentile, select
from service.library import Library
from service.search import MODES
from service.settings import Settings


def memory_mb() -> dict[str, float]:
    """Current and peak resident memory of this process."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return {"rss_mb": round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def disk_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


def ingest_records(library: Library, records: list[dict], scratch: Path) -> tuple[int, float]:
    """Ingest BEIR records through the real parser and pipeline; (papers, seconds)."""
    if not records:
        return 0, 0.0
    path = synthetic.write_records(records, scratch / "step.jsonl")
    started = time.perf_counter()
    report = library.ingest([parse_file(path, "scifact")]).report
    return report.new, time.perf_counter() - started


def latencies(library: Library, queries, qrels, k: int = 10) -> dict:
    out = {}
    for mode in MODES:
        library.search("warm-up query", k=k, mode=mode)
        times, runs = [], {}
        for query in queries:
            started = time.perf_counter()
            runs[query.id] = [hit.paper.id for hit in library.search(query.text, k=k, mode=mode)]
            times.append((time.perf_counter() - started) * 1000)
        out[mode] = {"p50_ms": round(percentile(times, 0.5), 1), "p95_ms": round(percentile(times, 0.95), 1),
                     "ndcg@10": round(mean_over_queries(runs, {q: qrels[q] for q in runs}, ndcg_at_k, 10), 4)}
    return out


def real_ingest(corpus: list[dict], sizes: list[int], work: Path, embedder) -> list[dict]:
    """The full pipeline with real embeddings into one growing store."""
    home = work / "real-store"
    library, rows, done = Library(Settings(home=home), embedder=embedder), [], 0
    for size in sizes:
        papers, seconds = ingest_records(library, corpus[done:size], work)
        rows.append({"size": size, "added": papers, "seconds": round(seconds, 1),
                     "abstracts_per_s": round(papers / seconds, 1) if seconds else None, **memory_mb()})
        print("real ingest", rows[-1], file=sys.stderr, flush=True)
        done = size
    library.close()
    return rows


def grown_store(corpus, sizes, work, base, queries, qrels, results, save) -> None:
    table = synthetic.sentence_table(base, corpus, work / "sentence-vectors.npz")
    shortcut = synthetic.SentenceMeanEmbedder(base, table)
    library = Library(Settings(home=work / "scale-store"), embedder=shortcut)
    results.setdefault("fidelity", fidelity(base, shortcut, library, corpus))
    steps = {row["size"]: row for row in results.get("steps", [])}
    for size in sizes:
        present = library.stats()["papers"]
        records = (corpus + list(synthetic.synthetic_records(corpus, max(0, size - len(corpus)))))[:size]
        added, seconds = ingest_records(library, records[present:], work)
        row = steps.get(size, {}) | {"size": size}
        if added:
            row |= {"ingest_added": added, "ingest_seconds": round(seconds, 1),
                    "ingest_per_s_without_embedder": round(added / seconds, 1)}
        row |= {"search": latencies(library, queries, qrels), "chunks": library.catalog.chunk_count(),
                "store_mb": disk_mb(work / "scale-store"), "loadavg": os.getloadavg()[0], **memory_mb()}
        steps[size] = row
        results["steps"] = [steps[s] for s in sorted(steps)]
        save()
        print("step", json.dumps(row), file=sys.stderr, flush=True)
    library.close()


def fidelity(base, shortcut, library: Library, corpus: list[dict]) -> dict:
    """How close shortcut vectors are to real chunk embeddings, on 200 real abstracts' chunks."""
    from index.models import Paper

    chunks = [c.embed_text for doc in corpus[:200] for c in library.indexer.chunker.chunk(
        Paper(id=f"scifact-{doc['_id']}", title=doc["title"], abstract=doc["text"], source="scifact"))]
    return {"chunks": len(chunks), "mean_cosine": round(synthetic.mean_vs_real_cosine(base, shortcut, chunks), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--qrels", type=Path, required=True)
    parser.add_argument("--sizes", default="1000,5183,20000,50000,100000")
    parser.add_argument("--real-sizes", default="250,500,1000")
    parser.add_argument("--n-queries", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path(".paperbrief/bench-scale"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/scale.json"))
    args = parser.parse_args()
    from index.embedding import LocalEmbedder

    args.work.mkdir(parents=True, exist_ok=True)
    corpus, qrels = synthetic.read_corpus(args.corpus), load_qrels(args.qrels)
    queries = select([q for q in load_queries(args.queries) if q.id in qrels], args.n_queries, 0)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    save = lambda: args.out.write_text(json.dumps(results, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    base = LocalEmbedder("minilm")
    base.embed_batch(["warm-up"])
    results["machine"] = f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start"
    if "real_ingest" not in results and args.real_sizes:
        results["real_ingest"] = real_ingest(corpus, [int(s) for s in args.real_sizes.split(",")], args.work, base)
        save()
    grown_store(corpus, [int(s) for s in args.sizes.split(",")], args.work, base, queries, qrels, results, save)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
