"""`paperbrief eval retrieval`: nDCG@10 and Recall@100 on a BEIR-format collection (e.g. SciFact).

The corpus is ingested into a library of its own (under the eval's --out dir, so a rerun reuses it),
each query ranks the whole corpus in each mode, and the metrics follow trec_eval (`retrieval_metrics`,
checked against pytrec_eval in the tests).
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from service.evaluation.retrieval_metrics import mean_over_queries, ndcg_at_k, recall_at_k
from service.evaluation.runner import EvalDataError, ResultCache, markdown_table, percentile, read_json_lines, run_items

DEPTH = 100  # papers ranked per query: Recall@100 needs 100
PUBLISHED_SCIFACT_TEST = {  # nDCG@10 on the SciFact test queries (BEIR and model cards)
    "BM25 (BEIR)": 0.665, "BM25 (Anserini flat)": 0.679, "all-MiniLM-L6-v2": 0.645,
    "BM25 + MiniLM cross-encoder": 0.688, "SPLADE++": 0.704, "bge-small-en-v1.5": 0.713,
    "gte-small": 0.727, "bge-base-en-v1.5": 0.744, "e5-mistral-7b": 0.764, "NV-Embed-v2": 0.801,
}


@dataclass(frozen=True)
class Query:
    id: str
    text: str


def corpus_doc_id(raw_id: str) -> str:
    """The library's id for a BEIR document (the SciFact parser names them `scifact-<_id>`)."""
    return f"scifact-{raw_id.strip()}"


def load_queries(path: Path) -> list[Query]:
    queries = []
    for number, row in read_json_lines(path):
        if not isinstance(row.get("_id"), str | int) or not isinstance(row.get("text"), str):
            raise EvalDataError(f"{path}:{number}: a BEIR query needs '_id' and 'text'")
        queries.append(Query(str(row["_id"]), row["text"]))
    return queries


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels TSV with a header: query-id, corpus-id, score."""
    qrels: dict[str, dict[str, int]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t"))
    except OSError as error:
        raise EvalDataError(f"{path}: cannot read: {error}") from error
    for number, row in enumerate(rows[1:], start=2):  # line 1 is the header
        if not row:
            continue
        try:
            query_id, doc_id, grade = row[0], row[1], int(row[2])
        except (IndexError, ValueError):
            raise EvalDataError(f"{path}:{number}: expected query-id<TAB>corpus-id<TAB>integer score") from None
        qrels.setdefault(query_id, {})[corpus_doc_id(doc_id)] = grade
    return qrels


def file_fingerprint(path: Path) -> str:
    """A short content hash: results cached for one corpus are never reused for another."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def library_config(library, corpus: Path) -> str:
    """What a search over the eval's library depends on: the corpus, embedder, chunking and search settings."""
    s = library.settings
    return (f"corpus={file_fingerprint(corpus)}|embedder={library.embedder.name}|"
            f"chunks={s.chunk_tokens}/{s.chunk_overlap_tokens}|fusion={s.fusion}/{s.dense_weight}/{s.rrf_k}|"
            f"candidates={s.candidate_chunks}")


def cache_config(library, corpus: Path, mode: str) -> str:
    return f"{library_config(library, corpus)}|mode={mode}"


def rank_queries(library, queries: Sequence[Query], mode: str, cache: ResultCache) -> list[dict]:
    """{"query_id", "ranking", "ms"} per query; rankings cached per query and configuration."""

    def compute(batch: list[Query]) -> list[dict]:
        rows = []
        for query in batch:
            started = time.perf_counter()
            hits = library.search(query.text, k=DEPTH, mode=mode)
            rows.append({"query_id": query.id, "ranking": [hit.paper.id for hit in hits],
                         "ms": round((time.perf_counter() - started) * 1000, 2)})
        return rows

    library.search("warm-up query", k=DEPTH, mode=mode)  # first search loads models and indexes
    return run_items(queries, lambda query: query.id, compute, cache, f"retrieval {mode}")


def score_mode(rows: Sequence[dict], qrels: dict[str, dict[str, int]]) -> dict:
    runs = {row["query_id"]: row["ranking"] for row in rows}
    judged = {qid: rel for qid, rel in qrels.items() if qid in runs}
    latencies = [row["ms"] for row in rows]
    return {
        "ndcg@10": round(mean_over_queries(runs, judged, ndcg_at_k, 10), 4),
        "recall@100": round(mean_over_queries(runs, judged, recall_at_k, DEPTH), 4),
        "queries": len(judged),
        "latency_ms_p50": round(percentile(latencies, 0.5), 1) if latencies else None,
        "latency_ms_p95": round(percentile(latencies, 0.95), 1) if latencies else None,
    }


def markdown(report: dict) -> str:
    rows = [[mode, m["ndcg@10"], m["recall@100"], m["queries"], m["latency_ms_p50"], m["latency_ms_p95"]]
            for mode, m in report["modes"].items()]
    published = [[name, value] for name, value in PUBLISHED_SCIFACT_TEST.items()]
    return "\n\n".join([
        "# Retrieval eval",
        (f"Corpus `{report['corpus']}` ({report['papers']} papers), queries `{report['queries']}`, "
        f"qrels `{report['qrels']}`; embedder `{report['embedder']}`; trec_eval definitions "
        f"(`ndcg_cut.10`, `recall.100`). Latency is per search of the top {DEPTH} (cached queries keep "
        "their first latency)."),
        markdown_table(["mode", "nDCG@10", "Recall@100", "queries", "p50 ms", "p95 ms"], rows),
        "Published nDCG@10 on the SciFact **test** queries, for reference (other split, other systems):",
        markdown_table(["system", "nDCG@10"], published),
    ])
