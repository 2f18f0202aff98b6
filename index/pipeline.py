"""Ingest: parsed papers -> catalogue (papers, chunks, BM25) -> vectors. Idempotent, resumable."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from index.catalog import Catalog
from index.chunking import Chunker
from index.embedding import Embedder
from index.models import Paper
from index.store import VectorStore

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total) chunks embedded
EMBED_BATCH_CHUNKS = 256  # chunks per vector write: bounded memory, fine-grained resume
CATALOG_BATCH_PAPERS = 200  # papers per catalogue transaction


class EmbedderMismatch(RuntimeError):
    pass


@dataclass(frozen=True)
class IngestReport:
    papers: int
    new: int
    updated: int
    unchanged: int
    chunks_embedded: int
    resumed_chunks: int = 0
    warnings: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        text = f"{self.papers} papers ({self.new} new"
        text += f", {self.updated} updated)" if self.updated else ")"
        if self.resumed_chunks:
            text += f"; finished {self.resumed_chunks} chunks left by an interrupted ingest"
        return text


class Indexer:
    def __init__(self, catalog: Catalog, vectors: VectorStore, embedder: Embedder, chunker: Chunker,
                 *, for_reindex: bool = False):
        self.catalog = catalog
        self.vectors = vectors
        self.embedder = embedder
        self.chunker = chunker
        if not for_reindex:  # a reindex is how a mismatched store gets fixed
            self._check_embedder()

    def _signature(self) -> str:
        return f"{self.embedder.name}/{self.embedder.dimension}/{self.chunker.limit}/{self.chunker.overlap}"

    def _check_embedder(self) -> None:
        signature = self._signature()
        stored = self.catalog.get_meta("embedder")
        if stored is None:
            self.catalog.set_meta("embedder", signature)
        elif stored != signature:
            raise EmbedderMismatch(
                f"this store was indexed with {stored} (embedder/dimension/chunk size/overlap) but the "
                f"configuration now says {signature}; run `paperbrief reindex` to rebuild the vectors."
            )

    def ingest(self, papers: Sequence[Paper], feed_dates: Sequence[date] = (),
               progress: Progress | None = None) -> IngestReport:
        resumed = self.catalog.count_pending()
        counts = {"new": 0, "updated": 0, "unchanged": 0}
        for start in range(0, len(papers), CATALOG_BATCH_PAPERS):
            batch = papers[start : start + CATALOG_BATCH_PAPERS]
            chunked = [(paper, self.chunker.chunk(paper)) for paper in batch]
            with self.catalog.transaction():
                for paper, chunks in chunked:
                    counts[self.catalog.merge(paper, chunks, feed_dates).status] += 1
        embedded = self.sync_vectors(progress)
        return IngestReport(
            papers=len(papers), new=counts["new"], updated=counts["updated"],
            unchanged=counts["unchanged"], chunks_embedded=embedded,
            resumed_chunks=min(resumed, embedded),
        )

    def sync_vectors(self, progress: Progress | None = None) -> int:
        """Apply pending deletions, then embed every chunk the catalogue marks as not embedded."""
        stale = self.catalog.pending_vector_deletes()
        if stale:
            self.vectors.delete(stale)
            self.catalog.clear_vector_deletes(stale)
        total, done = self.catalog.count_pending(), 0
        if progress:
            progress(0, total)
        while chunks := self.catalog.pending_chunks(EMBED_BATCH_CHUNKS):
            vectors = self.embedder.embed_batch([chunk.embed_text for chunk in chunks])
            self.vectors.upsert(
                [chunk.id for chunk in chunks], vectors,
                [{"paper_id": chunk.paper_id, "n": chunk.n} for chunk in chunks],
            )
            self.catalog.mark_embedded([chunk.id for chunk in chunks])
            done += len(chunks)
            if progress:
                progress(done, total)
        return done

    def remove(self, paper_ids: Sequence[str]) -> int:
        removed = self.catalog.remove(paper_ids)
        self.sync_vectors()
        return removed

    def reindex(self, progress: Progress | None = None) -> int:
        """Re-chunk and re-embed everything, e.g. after switching the embedder or the chunk size.

        The signature is written last: a reindex killed midway leaves a store that still asks
        for `reindex`, never one that silently mixes old and new chunks.
        """
        self.vectors.reset()
        self.catalog.mark_all_unembedded()
        paper_ids = self.catalog.paper_ids()
        for start in range(0, len(paper_ids), CATALOG_BATCH_PAPERS):
            papers = self.catalog.get_papers(paper_ids[start : start + CATALOG_BATCH_PAPERS])
            with self.catalog.transaction():
                for paper in papers.values():
                    self.catalog.replace_chunks(paper.id, self.chunker.chunk(paper))
        self.catalog.set_meta("embedder", self._signature())
        return self.sync_vectors(progress)
