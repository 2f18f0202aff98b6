"""Abstract sentences and their embeddings, kept per paper in memory and, given a store, on disk.

List answers read every paper of a day sentence by sentence; a day's ~300 sentences are embedded once,
not once per question (nor, with the store, once per process). Entries are keyed by the paper id and its
abstract, so an edited abstract is embedded again, and the least recently used papers leave memory first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.embedding import Embedder
from index.models import Paper
from index.sentence_store import SentenceStore
from index.text import split_sentences

CAPACITY = 5000  # papers kept (a few MB of vectors)


@dataclass(frozen=True)
class PaperSentences:
    paper_id: str
    sentences: tuple[str, ...]
    vectors: np.ndarray  # one unit-length row per sentence


class SentenceVectors:
    """Each paper's abstract sentences with their vectors, embedded on first use in one batch."""

    def __init__(self, embedder: Embedder, capacity: int = CAPACITY, store: SentenceStore | None = None):
        self._embedder = embedder
        self._capacity = capacity
        self._store = store
        self._kept: OrderedDict[tuple[str, str], PaperSentences] = OrderedDict()
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def of(self, papers: Sequence[Paper]) -> dict[str, PaperSentences]:
        """The sentences of every paper given, by paper id."""
        with self._lock:
            found = {p.id: self._kept[(p.id, p.abstract)] for p in papers if (p.id, p.abstract) in self._kept}
            for paper in papers:
                if paper.id in found:
                    self._kept.move_to_end((paper.id, paper.abstract))
        missing = [p for p in papers if p.id not in found]
        if missing:
            found.update(self._embed(missing))
        return found

    def _embed(self, papers: Sequence[Paper]) -> dict[str, PaperSentences]:
        stored = self._store.load([(p.id, p.abstract) for p in papers]) if self._store else {}
        made = {pid: PaperSentences(pid, texts, vectors) for pid, (texts, vectors) in stored.items()}
        todo = [p for p in papers if p.id not in made]
        texts = {p.id: tuple(p.abstract[s:e] for s, e in split_sentences(p.abstract)) for p in todo}
        flat = [text for p in todo for text in texts[p.id]]
        vectors = np.asarray(self._embedder.embed_batch(flat), dtype=np.float32) if flat else np.zeros((0, 0))
        start = 0
        for paper in todo:
            count = len(texts[paper.id])
            made[paper.id] = PaperSentences(paper.id, texts[paper.id], vectors[start:start + count])
            start += count
        if self._store and todo:
            self._store.save((p.id, p.abstract, made[p.id].sentences, made[p.id].vectors) for p in todo)
        with self._lock:
            for paper in papers:
                self._kept[(paper.id, paper.abstract)] = made[paper.id]
            while len(self._kept) > self._capacity:
                self._kept.popitem(last=False)
        return made
