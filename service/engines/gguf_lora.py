"""LoRA adapters as llama.cpp loads them: a paperbrief safetensors adapter written as a GGUF LoRA file.

paperbrief's adapter files (`service/engines/adapters/*.safetensors`, see `service.engines.transformers_lm.read_lora` for the torch
side) hold `<HF linear module>.lora_A` (rank × in) and `.lora_B` (out × rank) and a `scale` in their
metadata. The GGUF file names each pair after the base tensor it adapts (`blk.10.ffn_down.weight.lora_a`)
and stores B with the scale folded in; `adapter.lora.alpha` equals the rank, so llama.cpp's
`scale · alpha / rank` is exactly the scale a request gives. No torch: bf16 is widened with numpy.

Both matrices are written in Q8_0, as the base model's weights are quantized: llama.cpp's CPU kernels
multiply Q8_0 with int8 dot products, while F32 and F16 adapters went through its float path, which
cost most of the adapter's time (docs/BENCHMARKS.md, session 38). A tensor whose rows don't split into
Q8_0's 32-value blocks stays F32.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np

from service.engines.model_assets import write_atomically

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}
FORMAT = 2  # in the cached file's name: bump when the writer changes, so no stale conversion is served


def read_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Every tensor of a safetensors file as float32, and the file's metadata."""
    data = path.read_bytes()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_size])
    metadata = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + header_size :]
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {entry['dtype']}; adapters are F32, F16 or BF16")
        start, end = entry["data_offsets"]
        raw = np.frombuffer(body[start:end], dtype=_DTYPES[entry["dtype"]]).reshape(entry["shape"])
        tensors[name] = (raw.astype(np.uint32) << 16).view(np.float32) if entry["dtype"] == "BF16" \
            else raw.astype(np.float32)
    return tensors, metadata


def lora_pairs(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """`<HF linear module>` -> (A, scale · B), as `service.engines.transformers_lm.read_lora` reads the same file."""
    tensors, metadata = read_safetensors(path)
    scale = float(metadata.get("scale", "1"))
    pairs = {name.removesuffix(".lora_A"): (tensor, tensors[name.replace(".lora_A", ".lora_B")] * scale)
             for name, tensor in tensors.items() if name.endswith(".lora_A")}
    if not pairs:
        raise ValueError(f"adapter {path}: no '<layer>.lora_A' tensors")
    return pairs


def write_gguf_lora(source: Path, destination: Path, architecture: str, blocks: int) -> None:
    """Write `source` (paperbrief safetensors LoRA) as a GGUF LoRA for a `architecture` model."""
    import gguf

    arch = {name: arch for arch, name in gguf.MODEL_ARCH_NAMES.items()}[architecture]
    names = gguf.get_tensor_name_map(arch, blocks)
    pairs = lora_pairs(source)
    ranks = {a.shape[0] for a, _ in pairs.values()}
    tensors = {}
    for module, (lora_a, lora_b) in sorted(pairs.items()):
        base = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if base is None:
            raise ValueError(f"adapter {source}: {module!r} is not a {architecture} weight")
        tensors[f"{base}.lora_a"], tensors[f"{base}.lora_b"] = lora_a, lora_b
    writer = gguf.GGUFWriter(str(destination), arch=architecture)
    try:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        # alpha = rank makes llama.cpp's scale · alpha / rank exactly the scale a request gives
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(max(ranks)) if len(ranks) == 1 else 0.0)
        for name, tensor in tensors.items():
            _add_tensor(writer, name, np.ascontiguousarray(tensor))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()


def _add_tensor(writer, name: str, tensor: np.ndarray) -> None:
    """`tensor` in Q8_0 where its rows split into whole blocks, else as it is (F32)."""
    import gguf

    q8 = gguf.GGMLQuantizationType.Q8_0
    block = gguf.GGML_QUANT_SIZES[q8][0]
    if tensor.shape[-1] % block:
        writer.add_tensor(name, tensor)
        return
    writer.add_tensor(name, gguf.quants.quantize(tensor, q8), raw_dtype=q8)


def ensure_gguf_lora(source: Path, cache_root: Path, architecture: str, blocks: int) -> Path:
    """The GGUF version of `source` in the model cache, written once per content digest."""
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    final = cache_root / f"{source.stem}-{digest}-v{FORMAT}.gguf"
    if final.is_file():
        return final
    cache_root.mkdir(parents=True, exist_ok=True)
    write_atomically(final, lambda temp: write_gguf_lora(source, temp, architecture, blocks))
    return final
