"""training/merge_adapters.py: the merged adapter's delta is exactly the weighted mean of the inputs'."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from safetensors.torch import save_file  # noqa: E402

from service.engines.transformers_lm import read_lora  # noqa: E402
from training.merge_adapters import merge  # noqa: E402


def write_adapter(path, modules: dict[str, int], scale: float) -> None:
    tensors = {}
    for module, rank in modules.items():
        tensors[f"{module}.lora_A"] = torch.randn(rank, 6)
        tensors[f"{module}.lora_B"] = torch.randn(4, rank)
    save_file(tensors, str(path), metadata={"scale": str(scale)})


def delta(pair) -> torch.Tensor:
    lora_a, scaled_b = pair
    return scaled_b @ lora_a


def test_merged_deltas_are_the_weighted_mean_and_lone_layers_keep_their_share(tmp_path):
    torch.manual_seed(0)
    write_adapter(tmp_path / "a.safetensors", {"shared": 2, "only_a": 3}, scale=2.0)
    write_adapter(tmp_path / "b.safetensors", {"shared": 4}, scale=0.5)
    a = read_lora(tmp_path / "a.safetensors")
    b = read_lora(tmp_path / "b.safetensors")
    merged = merge([tmp_path / "a.safetensors", tmp_path / "b.safetensors"], [0.25, 0.75])
    assert merged["shared.lora_A"].shape == (6, 6), "ranks add up: 2 + 4"
    got = merged["shared.lora_B"].float() @ merged["shared.lora_A"].float()
    assert torch.allclose(got, 0.25 * delta(a["shared"]) + 0.75 * delta(b["shared"]), atol=0.05, rtol=0.02)
    lone = merged["only_a.lora_B"].float() @ merged["only_a.lora_A"].float()
    assert torch.allclose(lone, 0.25 * delta(a["only_a"]), atol=0.05, rtol=0.02)


def test_a_negative_weight_extrapolates_along_the_change_between_two_adapters(tmp_path):
    # the shipped SciTLDR adapter is 1.5 · after − 0.5 · before: half a step past "after"
    torch.manual_seed(1)
    write_adapter(tmp_path / "before.safetensors", {"layer": 3}, scale=2.0)
    write_adapter(tmp_path / "after.safetensors", {"layer": 3}, scale=2.0)
    before = delta(read_lora(tmp_path / "before.safetensors")["layer"])
    after = delta(read_lora(tmp_path / "after.safetensors")["layer"])
    merged = merge([tmp_path / "after.safetensors", tmp_path / "before.safetensors"], [1.5, -0.5])
    got = merged["layer.lora_B"].float() @ merged["layer.lora_A"].float()
    assert torch.allclose(got, after + 0.5 * (after - before), atol=0.1, rtol=0.02)
