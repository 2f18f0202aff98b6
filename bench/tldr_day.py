"""The product's TL;DRs of the sample day, as the Today page shows them, with what ROUGE can't see:
title echo, novelty, result coverage, and for the plain style its readability (Flesch–Kincaid grade,
textstat) and the share that state a result.

    python -m bench.tldr_day [--styles tldr plain] [--out bench/results/tldr-day.json]

Every TL;DR is written afresh (an empty output cache) by the configured generator (the bundled model
on llama.cpp by default). Results: docs/BENCHMARKS.md, "TL;DRs that tell more than the title".
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import textstat

from bench.machine import machine
from index.sources import parse_file
from service.cache import OutputCache
from service.engines.factory import shared_generator
from service.evaluation import tldr_measures
from service.settings import Settings
from service.tldr import summarise
from service.tldr_checks import carries_result, echoes_title, result_numbers

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "hf-daily-papers-encoder.txt"


def day_tldrs(style: str, generator, papers) -> tuple[list[dict], float]:
    cache = OutputCache(Path(tempfile.mkdtemp(prefix="pb-day-")) / "out.sqlite")
    started = time.perf_counter()
    written = {s.paper.id: s.text for s in summarise(papers, generator, cache, style=style, refresh=True)}
    seconds = time.perf_counter() - started
    rows = [{"id": p.id, "title": p.title, "tldr": written[p.id], "echoes_title": echoes_title(written[p.id], p.title),
             "carries_result": carries_result(written[p.id], p.abstract),
             "states_a_number": bool(result_numbers(written[p.id])),
             "fk_grade": textstat.flesch_kincaid_grade(written[p.id])} for p in papers]
    return rows, seconds


def summary(rows: list[dict], papers) -> dict:
    measures = tldr_measures.summary([r["tldr"] for r in rows], [p.title for p in papers], [p.abstract for p in papers])
    return {**measures, "title_echoes": sum(r["echoes_title"] for r in rows), "papers": len(rows),
            "median_fk_grade": statistics.median(r["fk_grade"] for r in rows),
            "share_stating_a_result": round(sum(r["states_a_number"] for r in rows) / len(rows), 3),
            "median_words": statistics.median(len(r["tldr"].split()) for r in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", nargs="+", default=["tldr", "plain"])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "tldr-day.json")
    args = parser.parse_args()
    papers = parse_file(SAMPLE).papers
    generator = shared_generator(Settings())
    report = {"machine": machine(), "generator": generator.name, "styles": {}}
    for style in args.styles:
        rows, seconds = day_tldrs(style, generator, papers)
        report["styles"][style] = {"summary": {**summary(rows, papers), "seconds": round(seconds, 1)}, "rows": rows}
        print(style, json.dumps(report["styles"][style]["summary"]))
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
