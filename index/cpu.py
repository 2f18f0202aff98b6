"""What the CPU can do, read once from the OS: the engines and the precision choice ask here."""

from __future__ import annotations

import functools


@functools.cache
def cpu_flags() -> frozenset[str] | None:
    """The CPU's feature flags (`avx2`, `avx512_bf16`, …) from /proc/cpuinfo; None where the OS doesn't say."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None
