"""Abstract sentences embedded once per paper, and again only when the abstract changes."""

from __future__ import annotations

import numpy as np

from index.models import Paper
from index.sentence_store import SentenceStore
from index.sentence_vectors import SentenceVectors
from index.text import sentences


class CountingEmbedder:
    def __init__(self):
        self.texts = []

    def embed_batch(self, texts):
        self.texts += list(texts)
        return np.array([[len(t), 1.0] for t in texts]) / np.array([[len(t), 1.0] for t in texts]).sum(1, keepdims=True)


def _paper(pid: str, abstract: str) -> Paper:
    return Paper(id=pid, title=f"Title {pid}", abstract=abstract, source="jsonl")


def test_each_paper_is_embedded_once_and_again_when_its_abstract_changes():
    embedder = CountingEmbedder()
    kept = SentenceVectors(embedder, capacity=2)
    first = _paper("a", "One sentence here. Another one follows.")
    second = _paper("b", "A single sentence.")
    found = kept.of([first, second])
    assert found["a"].sentences == tuple(sentences(first.abstract)) and found["a"].vectors.shape == (2, 2)
    assert len(embedder.texts) == 3
    kept.of([first, second])
    assert len(embedder.texts) == 3  # nothing embedded twice
    kept.of([_paper("a", "Edited abstract.")])
    assert embedder.texts[-1] == "Edited abstract."
    kept.of([second])  # still kept: the capacity holds the two most recent
    assert len(embedder.texts) == 4


def test_a_new_process_reads_the_stored_vectors_instead_of_embedding_again(tmp_path):
    path = tmp_path / "sentence_vectors.sqlite"
    paper, edited = _paper("a", "One sentence here. Another one follows."), _paper("a", "Edited abstract.")
    first = CountingEmbedder()
    made = SentenceVectors(first, store=SentenceStore(path, "counting")).of([paper, _paper("b", "Short.")])
    assert len(first.texts) == 3
    later = CountingEmbedder()  # another process: an empty memory, the same data directory
    found = SentenceVectors(later, store=SentenceStore(path, "counting")).of([paper])
    assert later.texts == [] and found["a"].sentences == made["a"].sentences
    assert np.array_equal(found["a"].vectors, made["a"].vectors) and found["a"].vectors.dtype == np.float32
    SentenceVectors(later, store=SentenceStore(path, "counting")).of([edited])
    assert later.texts == ["Edited abstract."]  # an edited abstract is embedded afresh
    other = CountingEmbedder()
    SentenceVectors(other, store=SentenceStore(path, "another-model")).of([paper])
    assert len(other.texts) == 2  # another embedder's vectors are never reused
