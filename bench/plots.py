"""PNG plots for docs/BENCHMARKS.md from the JSON the benchmarks write.

    .venv/bin/python bench/plots.py [--scale bench/results/scale.json] [--generation bench/results/generation.json]

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


def generation(results: dict, out: Path) -> None:
    lengths = sorted(results["streaming"], key=int)
    figure, axis = plt.subplots(figsize=(6.4, 3.6))
    ttft = [results["streaming"][n]["ttft_s"] for n in lengths]
    rate = [results["streaming"][n]["decode_tok_s"] for n in lengths]
    axis.bar([str(n) for n in lengths], ttft, color="tab:blue", label="time to first token (s)")
    axis.set(xlabel="prompt tokens", ylabel="TTFT (s)", title=f"Generation: {results['model']}")
    twin = axis.twinx()
    twin.plot([str(n) for n in lengths], rate, "-o", color="tab:orange", label="decode tokens/s")
    twin.set(ylabel="decode tokens/s", ylim=(0, None))
    figure.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=Path, default=Path("bench/results/scale.json"))
    parser.add_argument("--generation", type=Path, default=Path("bench/results/generation.json"))
    args = parser.parse_args()
    if args.scale.exists():
        scale = json.loads(args.scale.read_text())
        if scale.get("steps"):
            search_latency(scale, DOCS / "bench-search-latency.png")
            ingest(scale, DOCS / "bench-ingest.png")
    if args.generation.exists():
        generation(json.loads(args.generation.read_text()), DOCS / "bench-generation.png")


if __name__ == "__main__":
    main()
