"""Large corpora for the scale benchmark: real SciFact abstracts plus synthetic ones made from them,
and an honest shortcut for their vectors.

Synthetic abstract: sentences drawn from 3 different real abstracts, shuffled, under one of their
titles with a variant number: realistic vocabulary and length for BM25, new combinations for the index.

Vectors: embedding 100k abstracts for real with MiniLM would take far too long on a CPU (docs/BENCHMARKS.md,
"Scale: ingest throughput and search latency vs corpus size"), so every distinct real sentence and title
is embedded once (for real), and a chunk's vector is the normalised mean of its title's and sentences'
vectors (`SentenceMeanEmbedder`). Queries are not in the table and
are embedded for real, so query latency is genuine. `mean_vs_real_cosine` measures how close the
shortcut is to real chunk embeddings.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from index.text import sentences

SOURCES_PER_SYNTHETIC = 3


def read_corpus(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def synthetic_records(corpus: Sequence[dict], count: int, seed: int = 0) -> Iterator[dict]:
    """`count` BEIR records `syn-<n>` made of shuffled sentences of 3 random real abstracts."""
    rng = random.Random(seed)
    split = [sentences(doc["text"]) for doc in corpus]
    for n in range(count):
        picks = rng.sample(range(len(corpus)), SOURCES_PER_SYNTHETIC)
        pool = [s for i in picks for s in split[i]]
        target = max(3, round(sum(len(split[i]) for i in picks) / SOURCES_PER_SYNTHETIC))
        chosen = rng.sample(pool, min(target, len(pool)))
        rng.shuffle(chosen)
        title = f"{corpus[picks[0]]['title']} (variant {n})"
        yield {"_id": f"syn-{n}", "title": title, "text": " ".join(chosen)}


def write_records(records, path: Path) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    return path


def distinct_pieces(corpus: Sequence[dict]) -> list[str]:
    """Every title and sentence of the corpus once, as the shortcut will look them up."""
    seen: dict[str, None] = {}
    for doc in corpus:
        seen[doc["title"].strip()] = None
        seen.update(dict.fromkeys(sentences(doc["text"])))
    return list(seen)


class SentenceMeanEmbedder:
    """An Embedder whose chunk vectors are means of pre-computed sentence vectors; unknown text
    (queries) goes to the real embedder."""

    def __init__(self, base, table: dict[str, np.ndarray]):
        self._base, self._table = base, table
        self.name = f"{base.name}+sentence-mean"
        self.dimension, self.max_tokens = base.dimension, base.max_tokens
        self.looked_up = self.embedded = 0  # pieces found in the table / embedded for real
        sample = list(table)[:2000]
        words = sum(len(piece.split()) for piece in sample)
        self._pieces_per_word = (sum(base.count_tokens(sample)) - 2 * len(sample)) / max(1, words)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        # Estimated from words: the chunker's exact tokenizer calls would dominate a 100k build
        # (18 ms an abstract here); the ratio is measured on real sentences, so chunk sizes stay close.
        return [round(len(text.split()) * self._pieces_per_word) + 2 for text in texts]

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        pieces = [self._pieces(text) for text in texts]
        unknown = sorted({p for parts in pieces for p in parts if p not in self._table})
        if unknown:
            self._table.update(zip(unknown, self._base.embed_batch(unknown), strict=True))
            self.embedded += len(unknown)
        self.looked_up += sum(len(parts) for parts in pieces)
        vectors = np.stack([np.mean([self._table[p] for p in parts], axis=0) for parts in pieces])
        return (vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    @staticmethod
    def _pieces(text: str) -> list[str]:
        title, _, body = text.partition("\n")
        if not body:  # a query or a bare text: one piece, embedded for real
            return [text]
        title = title.split(" (variant ")[0].strip()  # synthetic titles reuse a real title's vector
        return [title, *sentences(body)]


def sentence_table(base, corpus: Sequence[dict], cache: Path) -> dict[str, np.ndarray]:
    """Real vectors of every distinct title and sentence, computed once and kept in `cache` (.npz)."""
    pieces = distinct_pieces(corpus)
    if cache.exists():
        stored = np.load(cache, allow_pickle=False)
        if list(stored["pieces"]) == pieces:
            return dict(zip(pieces, stored["vectors"], strict=True))
    vectors = base.embed_batch(pieces)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, pieces=np.array(pieces), vectors=vectors)
    return dict(zip(pieces, vectors, strict=True))


def mean_vs_real_cosine(base, shortcut: SentenceMeanEmbedder, chunk_texts: Sequence[str]) -> float:
    """Mean cosine between real chunk embeddings and the shortcut's vectors for the same chunks."""
    real, approx = base.embed_batch(list(chunk_texts)), shortcut.embed_batch(list(chunk_texts))
    return float(np.mean(np.sum(real * approx, axis=1)))
