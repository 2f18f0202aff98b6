"""Per question kind on the sample day: time to the first shown piece, time to the whole answer, and
the prompt tokens the model read (every request: answers, judgements, extractions, summaries).

    python -m bench.kinds_bench [--runs 3] [--per-kind 5] [--out bench/results/kinds.json]

The model is loaded and warmed first; each question is asked `--runs` times (a fresh conversation each
time; output caches are empty on the first run only, so later runs show cached compare extractions).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.machine import machine
from index.sources import parse_file
from service.ask import Answer, Token, ask_stream
from service.engines.factory import shared_generator
from service.evaluation.answers import load_questions
from service.library import Library
from service.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "hf-daily-papers-encoder.txt"
QUESTIONS = REPO / "samples" / "questions-hf-daily.jsonl"
KINDS = ("fact", "list", "recommend", "compare")


class CountingGenerator:
    """The configured generator, counting the prompt tokens of every request made through it."""

    def __init__(self, generator):
        self._generator, self.tokens = generator, 0
        self.name = generator.name

    def _count(self, messages) -> None:
        self.tokens += sum(self._generator.count_tokens(m["content"]) for m in messages)

    def stream(self, messages, **options):
        self._count(messages)
        return self._generator.stream(messages, **options)

    def generate(self, batch, **options):
        for messages in batch:
            self._count(messages)
        return self._generator.generate(batch, **options)

    def generate_json(self, batch, schema, **options):
        for messages in batch:
            self._count(messages)
        return self._generator.generate_json(batch, schema, **options)

    def score_choices(self, messages, choices):
        self._count(messages)
        return self._generator.score_choices(messages, choices)

    def count_tokens(self, text: str) -> int:
        return self._generator.count_tokens(text)


def timed(library: Library, generator: CountingGenerator, question: str) -> dict:
    started, first, before = time.perf_counter(), None, generator.tokens
    for event in ask_stream(library, generator, question):
        if isinstance(event, Token) and first is None:
            first = time.perf_counter() - started
        if isinstance(event, Answer):
            return {"kind": event.result.kind, "first_s": first, "whole_s": time.perf_counter() - started,
                    "prompt_tokens": generator.tokens - before}
    raise AssertionError("no answer")


def summary(rows: list[dict]) -> dict:
    firsts = [r["first_s"] for r in rows if r["first_s"] is not None]
    return {"answers": len(rows), "first_s_median": round(statistics.median(firsts), 2) if firsts else None,
            "whole_s_median": round(statistics.median(r["whole_s"] for r in rows), 2),
            "whole_s_max": round(max(r["whole_s"] for r in rows), 2),
            "prompt_tokens_median": statistics.median(r["prompt_tokens"] for r in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-kind", type=int, default=5, help="questions of each kind")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "kinds.json")
    args = parser.parse_args()
    library = Library(Settings(home=Path(tempfile.mkdtemp(prefix="pb-kinds-"))))
    library.ingest([parse_file(SAMPLE)])
    generator = CountingGenerator(shared_generator(library.settings))
    timed(library, generator, "What does TracksTo4D take as input?")  # load and warm the model
    questions = load_questions(QUESTIONS)
    rows: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    for kind in KINDS:
        chosen = [q.question for q in questions if q.kind == kind and q.papers][: args.per_kind]
        for _ in range(args.runs):
            rows[kind] += [timed(library, generator, question) for question in chosen]
        print(f"{kind}: {summary(rows[kind])}", file=sys.stderr)
    results = {"machine": machine(), "command": " ".join(sys.argv), "per_kind": {k: summary(v) for k, v in rows.items()}}
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
