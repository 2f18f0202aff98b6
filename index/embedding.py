"""Embedders: the small interface the pipeline and search talk to, batching inside."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    name: str
    dimension: int
    max_tokens: int  # the model's input limit in its own tokens

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, any number of texts."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes in the model's input, special tokens included."""


class LocalEmbedder:
    """A sentence-transformers model (default: the bundled all-MiniLM-L6-v2), loaded on first use."""

    def __init__(self, model: str = "minilm", batch_size: int = 32, dtype: str = "auto",
                 device: str | None = None, threads: int | None = None):
        from index import hf  # the torch boundary; imported here so `--help` stays instant

        self._encoder = hf.SentenceEncoder(model, device=device, dtype=dtype, threads=threads)
        self.batch_size = batch_size
        self.name = self._encoder.name
        self.dimension = self._encoder.dimension
        self.max_tokens = self._encoder.max_tokens

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encoder.encode(texts, self.batch_size)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._encoder.count_tokens(texts)


class OpenAIEmbedder:
    """Any OpenAI-compatible `/embeddings` endpoint (vLLM, Ollama, llama.cpp, OpenAI)."""

    def __init__(self, model: str, base_url: str, api_key: str | None = None,
                 batch_size: int = 64, max_tokens: int = 512, timeout: float = 60.0):
        import httpx

        self.name = model
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)
        self.dimension = int(self._request(["dimension probe"]).shape[1])

    def _request(self, texts: Sequence[str]) -> np.ndarray:
        response = self._client.post("/embeddings", json={"model": self.name, "input": list(texts)})
        if response.status_code != 200:
            raise RuntimeError(
                f"embeddings endpoint {self._client.base_url} answered {response.status_code}: "
                f"{response.text[:300]}"
            )
        rows = sorted(response.json()["data"], key=lambda row: row["index"])
        return normalise(np.asarray([row["embedding"] for row in rows], dtype=np.float32))

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [self._request(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return np.vstack(parts)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        # No tokenizer for a remote model: ~4 characters a token is a safe overestimate for English.
        return [math.ceil(len(text) / 4) + 2 for text in texts]


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def make_embedder(spec: str, *, batch_size: int, dtype: str = "auto", base_url: str | None = None,
                  api_key: str | None = None, threads: int | None = None) -> Embedder:
    """'minilm' | sentence-transformers id/path | 'openai:<model>' (needs base_url)."""
    if spec.startswith("openai:"):
        if not base_url:
            raise ValueError(
                f"embedder '{spec}' needs an endpoint: set PAPERBRIEF_EMBED_BASE_URL "
                "(e.g. http://127.0.0.1:8000/v1)"
            )
        return OpenAIEmbedder(spec.removeprefix("openai:"), base_url, api_key, batch_size=batch_size)
    return LocalEmbedder(spec, batch_size=batch_size, dtype=dtype, threads=threads)
