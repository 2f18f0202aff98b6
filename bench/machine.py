"""What a benchmark row must name: the CPU capability torch runs at, the cores, and the CPU's bf16 support."""

from __future__ import annotations

import os
import platform

from index.cpu import cpu_flags


def machine() -> dict:
    import torch

    flags = cpu_flags() or frozenset()
    return {
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "forced_capability": os.environ.get("ATEN_CPU_CAPABILITY"),  # e.g. avx2 on an AVX-512 machine
        "cpu_flags": sorted(flags & {"avx2", "avx512f", "avx512_bf16", "amx_bf16"}),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
    }
