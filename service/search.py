"""Hybrid search: dense (Chroma) + BM25 (FTS5) chunk rankings, per paper, fused.

Default fusion: each ranker's best-chunk score per paper, standardised over that ranker's candidates
(z-scores), then a weighted sum. On SciFact train it beats reciprocal-rank fusion (docs/BENCHMARKS.md,
"SciFact hybrid retrieval") because it keeps how far apart the scores are, which ranks drop.
Reciprocal-rank fusion stays available (`fusion="rrf"`)."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from index.catalog import Catalog, TermStatistics
from index.embedding import Embedder
from index.models import Chunk, Paper
from index.store import VectorStore
from index.text import content_stems, query_terms, split_sentences, stem

MODES = ("hybrid", "dense", "bm25")
FUSIONS = ("zscore", "rrf")
_RECENT_QUERIES = 32  # query embeddings kept, so an answer reuses its search's


@dataclass(frozen=True)
class SearchFilter:
    days: tuple[date, date] | None = None
    sources: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.days or self.sources)


ALL_PAPERS = SearchFilter()  # no filter: every stored paper


@dataclass(frozen=True)
class MatchedSentence:
    index: int  # position in the paper's sentence list
    text: str
    char_start: int
    char_end: int


@dataclass(frozen=True)
class SearchHit:
    paper: Paper
    score: float  # fused score (z-score sum or RRF), or the single ranker's score
    dense_rank: int | None
    bm25_rank: int | None
    chunks: tuple[Chunk, ...]  # the paper's matching chunks, best first
    sentences: tuple[MatchedSentence, ...]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60,
                           weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Cormack et al. 2009: score(d) = sum_r w_r / (k + rank_r(d)), ranks from 1."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def zscore_fusion(runs: Sequence[dict[str, float]], weights: Sequence[float]) -> list[tuple[str, float]]:
    """Weighted sum of each run's scores standardised over its own candidates; a key a run did not
    return gets that run's lowest standardised score. Runs are {key: score}, higher is better."""
    standardised = []
    for run in runs:
        if not run:
            continue
        mean = sum(run.values()) / len(run)
        spread = math.sqrt(sum((v - mean) ** 2 for v in run.values()) / len(run)) or 1.0
        z = {key: (value - mean) / spread for key, value in run.items()}
        standardised.append((z, min(z.values())))
    weights = [w for w, run in zip(weights, runs, strict=True) if run]
    keys = {key for z, _ in standardised for key in z}
    scores = {key: sum(w * z.get(key, floor) for w, (z, floor) in zip(weights, standardised, strict=True)) for key in keys}
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def best_score_per_paper(chunk_scores: Sequence[tuple[str, float]]) -> dict[str, float]:
    """{paper id: its best chunk's score}, in the order of the best chunks (input is best first)."""
    best: dict[str, float] = {}
    for chunk_id, score in chunk_scores:
        best.setdefault(chunk_id.rsplit("#", 1)[0], score)
    return best


def term_weights(library, query: str) -> dict[str, float]:
    """idf of each query word over the library's chunks, by stem: rare words say most about the topic."""
    terms = query_terms(query)
    weights = idf_weights(terms, library.catalog.term_statistics(terms))
    return {stem(term): weight for term, weight in weights.items()}


def coverage(weights: dict[str, float], text: str) -> float:
    """The idf-weighted share of the query's words (`term_weights`) that `text` holds."""
    if not weights:
        return 0.0
    present = content_stems(text)
    return sum(weight for word, weight in weights.items() if word in present) / sum(weights.values())


class Searcher:
    def __init__(self, catalog: Catalog, vectors: VectorStore, embedder: Embedder, fusion: str = "zscore",
                 dense_weight: float = 0.5, rrf_k: int = 60, candidates: int = 200):
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
        self.catalog = catalog
        self.vectors = vectors
        self.embedder = embedder
        self.fusion = fusion
        self.dense_weight = dense_weight
        self.rrf_k = rrf_k
        self.candidates = candidates
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()  # recent queries' embeddings
        self._vectors_lock = threading.Lock()

    def search(self, query: str, k: int = 10, filters: SearchFilter = ALL_PAPERS,
               mode: str = "hybrid") -> list[SearchHit]:
        if mode not in MODES:
            raise ValueError(f"search mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not query.strip():
            raise ValueError("search query is empty")
        allowed = self.catalog.paper_ids(filters.days, filters.sources) if filters.active else None
        limit = max(self.candidates, 3 * k)  # several chunks per paper: k papers need more chunks
        terms = query_terms(query)
        statistics = self.catalog.term_statistics(terms)  # once, for BM25 pruning and sentence idf
        dense = self._dense(query, allowed, limit) if mode != "bm25" else []
        lexical = self.catalog.bm25(query, limit, allowed, statistics) if mode != "dense" else []
        per_paper = {"dense": best_score_per_paper(dense), "bm25": best_score_per_paper(lexical)}
        rankings = {name: list(scores) for name, scores in per_paper.items()}
        fused = self._fuse(per_paper, rankings) if mode == "hybrid" else list(per_paper[mode].items())
        return self._hits(fused[:k], dense, lexical, rankings, idf_weights(terms, statistics))

    def _fuse(self, per_paper: dict[str, dict[str, float]], rankings: dict[str, list[str]]) -> list[tuple[str, float]]:
        if self.fusion == "rrf":
            return reciprocal_rank_fusion([rankings["dense"], rankings["bm25"]], self.rrf_k)
        return zscore_fusion([per_paper["dense"], per_paper["bm25"]], [self.dense_weight, 1.0 - self.dense_weight])

    def query_vector(self, query: str) -> list[float]:
        """The query's embedding, kept for the last few queries: a search and the answer built on it
        embed the question once."""
        with self._vectors_lock:
            if query in self._vectors:
                self._vectors.move_to_end(query)
                return self._vectors[query]
        vector = list(self.embedder.embed_batch([query])[0])
        with self._vectors_lock:
            self._vectors[query] = vector
            while len(self._vectors) > _RECENT_QUERIES:
                self._vectors.popitem(last=False)
        return vector

    def _dense(self, query: str, allowed: list[str] | None, limit: int) -> list[tuple[str, float]]:
        vector = self.query_vector(query)
        return self.vectors.query(vector, limit, allowed)

    def _hits(self, fused: list[tuple[str, float]], dense: list[tuple[str, float]],
              lexical: list[tuple[str, float]], rankings: dict[str, list[str]],
              idf: dict[str, float]) -> list[SearchHit]:
        papers = self.catalog.get_papers([pid for pid, _ in fused])
        chunk_ids = [cid for cid in _interleave(dense, lexical) if cid.rsplit("#", 1)[0] in papers]
        chunks = self.catalog.get_chunks(chunk_ids)  # vectors of deleted chunks are dropped here
        dense_rank = {pid: rank for rank, pid in enumerate(rankings["dense"], start=1)}
        bm25_rank = {pid: rank for rank, pid in enumerate(rankings["bm25"], start=1)}
        hits = []
        for pid, score in fused:
            if pid not in papers:
                continue
            own = tuple(chunks[cid] for cid in chunk_ids if cid in chunks and chunks[cid].paper_id == pid)
            hits.append(SearchHit(
                paper=papers[pid], score=score, dense_rank=dense_rank.get(pid), bm25_rank=bm25_rank.get(pid),
                chunks=own, sentences=matching_sentences(papers[pid], own, idf),
            ))
        return hits


def idf_weights(terms: Sequence[str], statistics: TermStatistics) -> dict[str, float]:
    total = max(1, statistics.chunks)
    return {term: math.log(1 + total / (1 + statistics.frequencies[term])) for term in terms}


def _interleave(*rankings: Sequence[tuple[str, float]]) -> list[str]:
    """Chunk ids ordered by their best rank in any ranking, each once."""
    best: dict[str, int] = {}
    for ranking in rankings:
        for position, (chunk_id, _) in enumerate(ranking):
            best[chunk_id] = min(position, best.get(chunk_id, position))
    return sorted(best, key=lambda chunk_id: best[chunk_id])


def matching_sentences(paper: Paper, chunks: Sequence[Chunk], idf: dict[str, float],
                       limit: int = 2) -> tuple[MatchedSentence, ...]:
    """The sentences of the matching chunks that share the most (idf-weighted) query words."""
    spans = split_sentences(paper.abstract)
    if not spans:
        return ()
    weights = {stem(term): weight for term, weight in idf.items()}
    candidates = sorted({i for chunk in chunks for i in range(chunk.sent_start, chunk.sent_end)}) or [0]

    def overlap(index: int) -> float:
        start, end = spans[index]
        words = {stem(word) for word in query_terms(paper.abstract[start:end])}
        return sum(weight for stem, weight in weights.items() if stem in words)

    scored = sorted(candidates, key=lambda index: (-overlap(index), candidates.index(index)))
    chosen = sorted(scored[:limit]) if overlap(scored[0]) > 0 else [candidates[0]]
    return tuple(
        MatchedSentence(i, paper.abstract[spans[i][0] : spans[i][1]], spans[i][0], spans[i][1]) for i in chosen
    )
