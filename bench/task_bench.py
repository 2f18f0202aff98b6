"""The user-facing task timings, on the bundled sample page with the bundled model.

    .venv/bin/python -m bench.task_bench --runs 3 --engine llamacpp
    ATEN_CPU_CAPABILITY=avx2 .venv/bin/python -m bench.task_bench --runs 3 --engine transformers

- model ready: with `--fresh`, from an empty model cache (the first start after an install:
  assembling and checking the GGUF, writing the GGUF adapter, or converting for transformers);
  else from the cache;
- ask: time to first answer token and to the whole answer (question in → answer out, retrieval and
  prompt included) over the answerable questions of samples/questions-hf-daily.jsonl, or over the
  questions of `--kind` in `--data` (a list answer's first token is its first paper);
- tldr: wall time for TL;DRs of all 30 sample papers with an empty cache, per run;
- peak RSS of the process (ru_maxrss) at the end.
Medians over --runs; every result names the CPU capability and cores (`bench.machine`). Results:
docs/BENCHMARKS.md, "User-facing timings with the default engine" and "Task timings (issue 4)".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.machine import machine
from index.sources import parse_file
from service.ask import Answer, Token, ask_stream
from service.cache import OutputCache
from service.engines.factory import shared_generator
from service.library import Library
from service.settings import Settings
from service.tldr import summarise

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "hf-daily-papers-encoder.txt"
QUESTIONS = REPO / "samples" / "questions-hf-daily.jsonl"


def answer_times(library: Library, generator, question: str) -> tuple[float | None, float, bool]:
    """Seconds to the first answer token (None if none), to the whole answer, and whether it abstained."""
    started, first = time.perf_counter(), None
    for event in ask_stream(library, generator, question):
        if isinstance(event, Token) and first is None:
            first = time.perf_counter() - started
        if isinstance(event, Answer):
            return first, time.perf_counter() - started, event.result.abstained
    return first, time.perf_counter() - started, True


def tldr_wall_time(library: Library, generator, home: Path, run: int) -> float:
    cache = OutputCache(home / f"tldr-run-{run}.sqlite")  # empty: every TL;DR is computed
    started = time.perf_counter()
    count = sum(1 for _ in summarise(library.papers(), generator, cache))
    assert count == 30, count
    return time.perf_counter() - started


def timed_runs(library: Library, generator, questions: list[str], runs: int, home: Path, tldr: bool = True):
    """Per run: every question's time to first token (answered ones) and to the whole answer, then 30 TL;DRs."""
    firsts, wholes, tldr_s = [], [], []
    for run in range(runs):
        for question in questions:
            first, whole, abstained = answer_times(library, generator, question)
            wholes.append(whole)
            if first is not None and not abstained:
                firsts.append(first)
        if tldr:
            tldr_s.append(tldr_wall_time(library, generator, home, run))
            print(f"run {run + 1}: tldr {tldr_s[-1]:.1f} s, load avg {os.getloadavg()[0]:.2f}", file=sys.stderr)
    return firsts, wholes, tldr_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--questions", type=int, default=10, help="answerable questions timed per run")
    parser.add_argument("--engine", choices=["auto", "llamacpp", "transformers"], default="auto")
    parser.add_argument("--fresh", action="store_true", help="time the model's first start from an empty model cache")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "tasks.json")
    parser.add_argument("--data", type=Path, default=QUESTIONS, help="the questions to time (JSONL with a kind)")
    parser.add_argument("--kind", default="fact", help="time the questions of this kind (fact, list, recommend, …)")
    parser.add_argument("--tldr", action=argparse.BooleanOptionalAction, default=True, help="also time 30 TL;DRs")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="pb-tasks-"))
    model_dir = {"model_dir": home / "models"} if args.fresh else {}
    library = Library(Settings(home=home, engine=args.engine, **model_dir))
    library.ingest([parse_file(SAMPLE)])
    started = time.perf_counter()
    generator = shared_generator(library.settings)
    generator.count_tokens("warm-up")
    load_s = time.perf_counter() - started
    questions = [row["question"] for row in map(json.loads, args.data.open())  # a list may rightly name none
                 if (row["papers"] or args.kind == "list") and row.get("kind", "fact") == args.kind][: args.questions]
    answer_times(library, generator, questions[0])  # warm-up: first-call allocations

    firsts, wholes, tldr_s = timed_runs(library, generator, questions, args.runs, home, args.tldr)
    results = {
        "machine": machine(),
        "engine": getattr(generator, "engine", "?"),
        "command": " ".join(sys.argv),
        ("model_ready_fresh_s" if args.fresh else "model_load_cached_s"): round(load_s, 2),
        "ask_ttft_s": {"median": round(statistics.median(firsts), 2), "p90": round(sorted(firsts)[int(0.9 * (len(firsts) - 1))], 2),
                       "answers_timed": len(firsts)},
        "ask_whole_answer_s": {"median": round(statistics.median(wholes), 2), "max": round(max(wholes), 2),
                               "questions_timed": len(wholes)},
        "kind": args.kind, "data": str(args.data),
        "tldr_30_papers_s": {"median": round(statistics.median(tldr_s), 1), "runs": [round(s, 1) for s in tldr_s]}
        if tldr_s else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_average_1min_end": round(os.getloadavg()[0], 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
