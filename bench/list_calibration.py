"""Where list answers draw their lines: every (list question, paper) pair of the sample day with its
dense cosine and topic-word coverage, and how each include/exclude threshold pair splits them.

    python -m bench.list_calibration [--data samples/questions-hf-daily.jsonl] [--out bench/results/list-calibration.json]

Pairs above the include line are listed without the model; pairs below the exclude line are dropped
without it; the model judges the band between. The chosen pair keeps the clear verdicts right
(precision of "yes", recall kept by "no") with the fewest model calls; docs/BENCHMARKS.md has the table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from pathlib import Path

import numpy as np

from bench.machine import machine
from index.sources import parse_file
from service.engines.factory import shared_generator
from service.evaluation.answers import load_questions, matches
from service.library import Library
from service.listing import default_scope, evidence, judge_margin, judge_papers, topic_of
from service.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "hf-daily-papers-encoder.txt"


def pairs(library: Library, data: Path) -> list[dict]:
    """(question, paper) pairs of the list and recommend questions, labelled by the expected papers,
    with the paper's rank by score and its cosine's z-score over the day."""
    scope = default_scope(library)
    papers = library.papers(scope.days)
    rows = []
    for question in load_questions(data):
        if question.kind not in ("list", "recommend"):
            continue
        judged = judge_papers(library, topic_of(question.question), papers)
        cosines = np.array([j.cosine for j in judged])
        for rank, item in enumerate(judged, start=1):
            rows.append({"id": question.id, "kind": question.kind, "paper": item.paper.id, "rank": rank,
                         "cosine": round(item.cosine, 4), "coverage": round(item.coverage, 4),
                         "z": round(float((item.cosine - cosines.mean()) / (cosines.std() or 1.0)), 3),
                         "relevant": any(matches(e, item.paper.id, item.paper.title) for e in question.papers)})
    return rows


def split(rows: list[dict], include_z: float, exclude_z: float, min_cosine: float, candidates: int) -> dict:
    """How one rule splits the pairs: listed at once, dropped at once, left to the model."""
    eligible = [r for r in rows if r["rank"] <= candidates and r["cosine"] >= min_cosine]
    yes = [r for r in eligible if r["z"] >= include_z]
    maybe = [r for r in eligible if exclude_z <= r["z"] < include_z]
    relevant = sum(r["relevant"] for r in rows)
    kept = sum(r["relevant"] for r in yes + maybe)
    return {"include_z": include_z, "exclude_z": exclude_z, "min_cosine": min_cosine, "candidates": candidates,
            "listed_at_once": len(yes), "precision_at_once": round(sum(r["relevant"] for r in yes) / len(yes), 3)
            if yes else None, "relevant_dropped": relevant - kept, "relevant": relevant, "model_calls": len(maybe)}


def grid(rows: list[dict]) -> list[dict]:
    return [split(rows, *values) for values in itertools.product(
        (2.2, 2.4, 2.6, 2.8), (1.0, 1.2, 1.4), (0.22, 0.26, 0.3), (4, 5, 6))]


def _cost(result: dict) -> float:
    """A relevant paper dropped costs most; a wrong paper listed at once next; a model call a little."""
    wrong = (1 - (result["precision_at_once"] or 1.0)) * result["listed_at_once"]
    return result["relevant_dropped"] + wrong + 0.05 * result["model_calls"]


def judge_margins(library: Library, data: Path) -> list[dict]:
    """The model's yes-minus-no margin for every borderline (list question, paper) pair, labelled."""
    generator = shared_generator(library.settings)
    scope = default_scope(library)
    papers = library.papers(scope.days)
    rows = []
    for question in load_questions(data):
        if question.kind != "list":
            continue
        topic = topic_of(question.question)
        borderline = [j for j in judge_papers(library, topic, papers) if j.verdict == "maybe"]
        found = evidence(library, topic, [j.paper for j in borderline])
        for item in borderline:
            margin = judge_margin(item.paper, [t for _, t in found.get(item.paper.id, [])], question.question,
                                  generator.score_choices)
            rows.append({"id": question.id, "paper": item.paper.id, "margin": round(margin, 3),
                         "relevant": any(matches(e, item.paper.id, item.paper.title) for e in question.papers)})
    return rows


def margin_table(rows: list[dict]) -> list[dict]:
    """Per margin line: relevant papers listed and wrong papers listed among the borderline ones."""
    table = []
    for line in (-3.0, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0):
        listed = [r for r in rows if r["margin"] >= line]
        table.append({"margin": line, "relevant_listed": sum(r["relevant"] for r in listed),
                      "wrong_listed": sum(not r["relevant"] for r in listed), "relevant": sum(r["relevant"] for r in rows),
                      "borderline": len(rows)})
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "samples" / "questions-hf-daily.jsonl")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "list-calibration.json")
    parser.add_argument("--judge", action="store_true", help="also run the model on the borderline pairs")
    args = parser.parse_args()
    library = Library(Settings(home=Path(tempfile.mkdtemp(prefix="pb-list-"))))
    library.ingest([parse_file(SAMPLE)])
    rows = pairs(library, args.data)
    results = grid(rows)
    report = {"machine": machine(), "data": str(args.data), "pairs": rows, "grid": results}
    if args.judge:
        report["margins"] = judge_margins(library, args.data)
        report["margin_table"] = margin_table(report["margins"])
        for line in report["margin_table"]:
            print(line)
    args.out.write_text(json.dumps(report, indent=1))
    for result in sorted(results, key=_cost)[:10]:
        print(result)


if __name__ == "__main__":
    main()
