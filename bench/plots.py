"""PNG plots for docs/BENCHMARKS.md from the JSON the benchmarks write.

    .venv/bin/python -m bench.plots [--scale bench/results/scale.json] [--generation bench/results/generation*.json]

Writes docs/bench-search-latency.png, docs/bench-ingest.png and docs/bench-generation.png (each only
when its input exists).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

DOCS = Path(__file__).resolve().parents[1] / "docs"


def search_latency(scale: dict, out: Path) -> None:
    steps = scale["steps"]
    sizes = [step["size"] for step in steps]
    figure, axis = plt.subplots(figsize=(6.4, 4))
    for mode, style in (("hybrid", "-o"), ("dense", "--s"), ("bm25", ":^")):
        axis.plot(sizes, [s["search"][mode]["p50_ms"] for s in steps], style, label=f"{mode} p50")
        axis.plot(sizes, [s["search"][mode]["p95_ms"] for s in steps], style, alpha=0.45, label=f"{mode} p95")
    axis.set(xscale="log", xlabel="abstracts in the store", ylabel="search latency, k=10 (ms)",
             title="Search latency vs corpus size")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, ncol=2)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def ingest(scale: dict, out: Path) -> None:
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    real = scale.get("real_ingest", [])
    left.plot([r["size"] for r in real], [r["abstracts_per_s"] for r in real], "-o")
    left.set(xlabel="abstracts in the store", ylabel="abstracts/s", title="Full pipeline (MiniLM)", ylim=(0, None))
    steps = [s for s in scale["steps"] if s.get("ingest_per_s_without_embedder")]
    right.plot([s["size"] for s in steps], [s["ingest_per_s_without_embedder"] for s in steps], "-o")
    right.set(xscale="log", xlabel="abstracts in the store after the step", ylabel="abstracts/s",
              title="Catalogue + FTS5 + Chroma writes", ylim=(0, None))
    for axis in (left, right):
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def generation(results: list[dict], out: Path) -> None:
    """Time to first token and decode rate vs prompt length, one line per model."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    for result in results:
        lengths = sorted(result["streaming"], key=int)
        runs = [result["streaming"][n] for n in lengths]
        left.plot([int(n) for n in lengths], [r["ttft_s"] for r in runs], "-o", label=result["model"])
        right.plot([int(n) for n in lengths], [r["decode_tok_s"] for r in runs], "-o", label=result["model"])
    left.set(xlabel="prompt tokens", ylabel="seconds", title="Time to first token (streaming)", ylim=(0, None))
    right.set(xlabel="prompt tokens", ylabel="new tokens/s", title="Decode rate (one request)", ylim=(0, None))
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=Path, default=Path("bench/results/scale.json"))
    parser.add_argument("--generation", type=Path, nargs="+",
                        default=[Path("bench/results/generation.json"), Path("bench/results/generation-1.5b.json")],
                        help="generation_bench.py results, one line per model")
    args = parser.parse_args()
    if args.scale.exists():
        scale = json.loads(args.scale.read_text())
        if scale.get("steps"):
            search_latency(scale, DOCS / "bench-search-latency.png")
            ingest(scale, DOCS / "bench-ingest.png")
    found = [json.loads(path.read_text()) for path in args.generation if path.exists()]
    if found:
        generation(found, DOCS / "bench-generation.png")


if __name__ == "__main__":
    main()
