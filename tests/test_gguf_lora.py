"""The shipped SciTLDR adapter written as a GGUF LoRA file: the tensors llama.cpp reads are the ones the
torch engine applies (A, and B with the file's scale folded in), under llama.cpp's names, in Q8_0 where
their rows split into its blocks (exactly, in F32, where they don't)."""

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
    return {t.name: gguf.quants.dequantize(t.data, t.tensor_type).reshape(tuple(reversed([int(n) for n in t.shape])))
            for t in reader.tensors}


def _types(path) -> dict[str, str]:
    return {t.name: t.tensor_type.name for t in gguf.GGUFReader(str(path)).tensors}


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
    assert set(_types(out).values()) == {"F32"}, "rows of 4 and 2 values don't fill a Q8_0 block"
    assert np.array_equal(tensors["blk.1.attn_q.weight.lora_a"], lora_a)
    assert np.array_equal(tensors["blk.1.attn_q.weight.lora_b"], 2 * lora_b)
    assert _field(out, "general.type") == "adapter" and _field(out, "adapter.type") == "lora"
    assert float(_field(out, "adapter.lora.alpha")) == 2.0, "alpha = rank: llama.cpp's scale·alpha/rank = scale"


def test_an_adapter_in_whole_blocks_is_written_in_q8_0_within_its_rounding(tmp_path):
    rng = np.random.default_rng(0)
    lora_a = rng.normal(size=(32, 64)).astype(np.float32)  # rank 32, in 64: rows of whole 32-value blocks
    lora_b = rng.normal(scale=0.01, size=(96, 32)).astype(np.float32)
    source = tmp_path / "q8.safetensors"
    save_file({"model.layers.0.mlp.up_proj.lora_A": lora_a, "model.layers.0.mlp.up_proj.lora_B": lora_b},
              str(source), metadata={"scale": "0.5"})
    out = tmp_path / "q8.gguf"
    write_gguf_lora(source, out, "qwen2", 1)
    assert set(_types(out).values()) == {"Q8_0"}
    tensors = _tensors(out)
    for name, expected in (("lora_a", lora_a), ("lora_b", 0.5 * lora_b)):
        written = tensors[f"blk.0.ffn_up.weight.{name}"]
        assert written.shape == expected.shape and not np.array_equal(written, expected)
        # Q8_0: a block in 255 steps of its largest magnitude: off by half a step, and the step itself is
        # stored in fp16 (relative error 2^-11, times up to 127 steps)
        steps = np.abs(expected).reshape(expected.shape[0], -1, 32).max(axis=-1, keepdims=True) / 127
        assert np.all(np.abs(written - expected).reshape(steps.shape[:2] + (32,)) <= steps * (0.5 + 127 / 2**11))


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
    assert set(_types(first).values()) == {"Q8_0"}, "every shipped matrix's rows fill Q8_0 blocks"
    assert [p.name for p in tmp_path.iterdir()] == [first.name]
