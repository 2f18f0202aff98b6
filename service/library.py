"""The service layer: one object the CLI, the web app and the HTTP API all call."""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from index.catalog import Catalog
from index.chunking import Chunker
from index.embedding import Embedder, make_embedder
from index.models import BadRecord, Paper, ParseResult
from index.pipeline import Indexer, IngestReport, Progress
from index.sentence_store import SentenceStore
from index.sentence_vectors import SentenceVectors
from index.store import VectorStore
from service.cache import OutputCache
from service.search import ALL_PAPERS, Searcher, SearchFilter, SearchHit
from service.settings import Settings

# Sources that are a day's feed: their papers get the ingest day as feed date unless told otherwise.
BENCHMARK_SOURCES = frozenset({"scifact", "scitldr"})


class BadInputError(ValueError):
    """Input with bad records and no --skip-bad: nothing was stored."""

    def __init__(self, bad: Sequence[BadRecord]):
        self.bad = tuple(bad)
        shown = "\n  ".join(str(record) for record in self.bad[:10])
        more = f"\n  … and {len(self.bad) - 10} more" if len(self.bad) > 10 else ""
        super().__init__(
            f"{len(self.bad)} bad record(s); nothing was stored (use --skip-bad to ingest the good ones):"
            f"\n  {shown}{more}"
        )


@dataclass(frozen=True)
class IngestOutcome:
    report: IngestReport
    skipped: tuple[BadRecord, ...]
    warnings: tuple[str, ...]


class Library:
    """Owns the catalogue, the vector store and the embedder for one data directory."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        self.catalog = Catalog(settings.catalog_path)
        self._embedder = embedder
        self._lock = threading.Lock()

    @functools.cached_property
    def vectors(self) -> VectorStore:
        return VectorStore(self.settings.collection, path=self.settings.chroma_path, url=self.settings.chroma_url)

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                s = self.settings
                self._embedder = make_embedder(
                    s.embedder, batch_size=s.embed_batch_size, dtype=s.embed_dtype,
                    base_url=s.embed_base_url, api_key=s.embed_api_key, threads=s.threads,
                )
            return self._embedder

    @property
    def generator(self):
        """The process-wide language model (loaded on first use; one per process)."""
        from service.engines.factory import shared_generator

        return shared_generator(self.settings)

    @functools.cached_property
    def sentence_vectors(self) -> SentenceVectors:
        """Abstract sentences with their vectors, embedded once per paper and kept in the data directory
        (list answers read them all)."""
        store = SentenceStore(self.settings.home / "sentence_vectors.sqlite", self.embedder.name)
        return SentenceVectors(self.embedder, store=store)

    @functools.cached_property
    def outputs(self) -> OutputCache:
        return OutputCache(self.settings.output_cache_path)

    @functools.cached_property
    def indexer(self) -> Indexer:
        return self._make_indexer()

    def _make_indexer(self, for_reindex: bool = False) -> Indexer:
        chunker = Chunker(
            self.embedder.count_tokens, min(self.settings.chunk_tokens, self.embedder.max_tokens),
            self.settings.chunk_overlap_tokens,
        )
        return Indexer(self.catalog, self.vectors, self.embedder, chunker, for_reindex=for_reindex)

    @functools.cached_property
    def searcher(self) -> Searcher:
        self.indexer  # noqa: B018 — checks the store matches the configured embedder
        s = self.settings
        return Searcher(self.catalog, self.vectors, self.embedder, fusion=s.fusion, dense_weight=s.dense_weight,
                        rrf_k=s.rrf_k, candidates=s.candidate_chunks)

    # --- ingest -------------------------------------------------------------------------
    def ingest(self, parsed: Sequence[ParseResult], *, skip_bad: bool = False,
               feed_date: date | None = None, progress: Progress | None = None) -> IngestOutcome:
        """Store the papers of already-parsed inputs: all or nothing unless `skip_bad`."""
        bad = [record for result in parsed for record in result.bad]
        if bad and not skip_bad:
            raise BadInputError(bad)
        papers = [
            _with_feed_date(paper, feed_date)
            for paper in _last_of_each_id(paper for result in parsed for paper in result.papers)
        ]
        report = self.indexer.ingest(papers, progress=progress)
        warnings = tuple(w for result in parsed for w in result.warnings)
        return IngestOutcome(report, tuple(bad), warnings)

    def resume(self, progress: Progress | None = None) -> int:
        return self.indexer.sync_vectors(progress)

    def remove(self, paper_ids: Sequence[str]) -> int:
        return self.indexer.remove(paper_ids)

    def reindex(self, progress: Progress | None = None) -> int:
        count = self._make_indexer(for_reindex=True).reindex(progress)
        self.__dict__.pop("indexer", None)
        self.__dict__.pop("searcher", None)
        return count

    # --- reading ------------------------------------------------------------------------
    def papers(self, days: tuple[date, date] | None = None, sources: Sequence[str] = ()) -> list[Paper]:
        ids = self.catalog.paper_ids(days, sources)
        found = self.catalog.get_papers(ids)
        return [found[pid] for pid in ids if pid in found]

    def paper(self, paper_id: str) -> Paper | None:
        return self.catalog.get_papers([paper_id]).get(paper_id)

    def search(self, query: str, k: int = 10, filters: SearchFilter = ALL_PAPERS,
               mode: str = "hybrid") -> list[SearchHit]:
        return self.searcher.search(query, k, filters, mode)

    def stats(self) -> dict[str, object]:
        stats = self.catalog.stats()
        stats["catalog"] = str(self.settings.catalog_path)
        stats["vector_store"] = self.settings.chroma_url or str(self.settings.chroma_path)
        stats["embedder"] = self.catalog.get_meta("embedder") or self.settings.embedder
        return stats

    def close(self) -> None:
        self.catalog.close()
        if "sentence_vectors" in self.__dict__:  # opened on first use only
            self.sentence_vectors.close()


def _last_of_each_id(papers) -> list[Paper]:
    latest: dict[str, Paper] = {}
    for paper in papers:
        latest.pop(paper.id, None)
        latest[paper.id] = paper
    return list(latest.values())


def _with_feed_date(paper: Paper, feed_date: date | None) -> Paper:
    """An explicit feed date wins; a feed's own dates stay; other feed papers are today's."""
    if feed_date:
        return replace(paper, feed_dates=(feed_date,))
    if paper.feed_dates or paper.source in BENCHMARK_SOURCES:
        return paper
    return replace(paper, feed_dates=(date.today(),))
