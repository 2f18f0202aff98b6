"""The one module that imports chromadb: vectors of chunks, cosine space, batched writes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import chromadb  # noqa: E402
import numpy as np  # noqa: E402
from chromadb.config import Settings as ChromaSettings  # noqa: E402


class StoreError(RuntimeError):
    pass


class VectorStore:
    """Chunk vectors in a Chroma collection, embedded (`path`) or on a server (`url`).

    Our own embedder always computes the vectors: the collection has no embedding
    function, so Chroma's default one (which downloads a model) can never run.
    """

    def __init__(self, collection: str, *, path: Path | None = None, url: str | None = None):
        settings = ChromaSettings(anonymized_telemetry=False)
        if url:
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise StoreError(f"Chroma URL must look like http://host:port, got {url!r}")
            self._client = chromadb.HttpClient(
                host=parsed.hostname, port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https", settings=settings,
            )
            self.location = url
        else:
            assert path is not None
            path.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(path), settings=settings)
            self.location = str(path)
        self._name = collection
        self._collection = self._open()
        self._max_batch = int(self._client.get_max_batch_size())

    def _open(self):
        return self._client.get_or_create_collection(
            self._name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]) -> None:
        for start in range(0, len(ids), self._max_batch):
            end = start + self._max_batch
            self._collection.upsert(
                ids=list(ids[start:end]), embeddings=vectors[start:end], metadatas=list(metadatas[start:end])
            )

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), self._max_batch):
            self._collection.delete(ids=list(ids[start : start + self._max_batch]))

    def query(self, vector: np.ndarray, limit: int, paper_ids: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """Chunk ids with cosine similarity, best first; optionally only chunks of `paper_ids`."""
        if paper_ids is not None and not paper_ids:
            return []
        total = self.count()
        if total == 0:
            return []
        where = {"paper_id": {"$in": list(paper_ids)}} if paper_ids is not None else None
        result = self._collection.query(
            query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
            n_results=min(limit, total), where=where, include=["distances"],
        )
        ids, distances = result["ids"][0], result["distances"][0]
        return [(chunk_id, 1.0 - float(distance)) for chunk_id, distance in zip(ids, distances, strict=True)]

    def count(self) -> int:
        return int(self._collection.count())

    def existing(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), self._max_batch):
            found.update(self._collection.get(ids=list(ids[start : start + self._max_batch]), include=[])["ids"])
        return found

    def reset(self) -> None:
        """Drop every vector (re-embedding with another model)."""
        self._client.delete_collection(self._name)
        self._collection = self._open()
