"""The shipped SciTLDR adapter written as a GGUF LoRA file: the tensors llama.cpp reads are exactly
the ones the torch engine applies (A, and B with the file's scale folded in), under llama.cpp's names."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import save_file

from service.engines import model_assets
from service.engines.gguf_lora import ensure_gguf_lora, lora_pairs, read_safetensors, write_gguf_lora

gguf = pytest.importorskip("gguf")
SHIPPED = model_assets.ADAPTER_DIR / "scitldr-qwen2.5-coder-0.5b-lora.safetensors"


def _tensors(path) -> dict[str, np.ndarray]:
    reader = gguf.GGUFReader(str(path))
    # GGUF stores ggml's dimension order; numpy's is the reverse
    return {t.name: np.asarray(t.data).reshape(tuple(reversed([int(n) for n in t.shape]))) for t in reader.tensors}


def _field(path, key: str):
    field = gguf.GGUFReader(str(path)).fields[key]
    return field.contents() if hasattr(field, "contents") else field.parts[field.data[0]]


def test_a_small_adapter_gets_llamacpp_names_shapes_scale_and_alpha(tmp_path):
    lora_a = np.arange(2 * 4, dtype=np.float32).reshape(2, 4)  # rank 2, in 4
    lora_b = np.ones((3, 2), dtype=np.float32)  # out 3
    source = tmp_path / "a.safetensors"
    save_file({"model.layers.1.self_attn.q_proj.lora_A": lora_a, "model.layers.1.self_attn.q_proj.lora_B": lora_b},
              str(source), metadata={"scale": "2"})
    out = tmp_path / "a.gguf"
    write_gguf_lora(source, out, "qwen2", 2)
    tensors = _tensors(out)
    assert set(tensors) == {"blk.1.attn_q.weight.lora_a", "blk.1.attn_q.weight.lora_b"}
    assert np.array_equal(tensors["blk.1.attn_q.weight.lora_a"], lora_a)
    assert np.array_equal(tensors["blk.1.attn_q.weight.lora_b"], 2 * lora_b)
    assert _field(out, "general.type") == "adapter" and _field(out, "adapter.type") == "lora"
    assert float(_field(out, "adapter.lora.alpha")) == 2.0, "alpha = rank: llama.cpp's scale·alpha/rank = scale"


def test_a_module_the_architecture_lacks_is_named(tmp_path):
    source = tmp_path / "bad.safetensors"
    save_file({"model.nowhere.lora_A": np.ones((2, 4), np.float32), "model.nowhere.lora_B": np.ones((3, 2), np.float32)},
              str(source))
    with pytest.raises(ValueError, match="'model.nowhere' is not a qwen2 weight"):
        write_gguf_lora(source, tmp_path / "bad.gguf", "qwen2", 2)


def test_the_shipped_adapter_reads_as_the_torch_engine_reads_it():
    torch = pytest.importorskip("torch")
    from service.engines.transformers_lm import read_lora

    ours, theirs = lora_pairs(SHIPPED), read_lora(SHIPPED)
    assert ours.keys() == theirs.keys() and len(ours) == 112
    for module, (lora_a, lora_b) in theirs.items():
        assert np.array_equal(ours[module][0], lora_a.numpy()) and np.array_equal(ours[module][1], lora_b.numpy())
    assert read_safetensors(SHIPPED)[1]["rank"] == "32" and torch.is_tensor(lora_a)


def test_the_shipped_adapter_converts_once_per_digest(tmp_path):
    spec = model_assets.BUNDLED["bundled"]
    first = ensure_gguf_lora(SHIPPED, tmp_path, spec.architecture, spec.blocks)
    mtime = first.stat().st_mtime_ns
    assert ensure_gguf_lora(SHIPPED, tmp_path, spec.architecture, spec.blocks) == first
    assert first.stat().st_mtime_ns == mtime and len(_tensors(first)) == 224
    assert [p.name for p in tmp_path.iterdir()] == [first.name]
