"""Where list answers draw their lines: every (list question, paper) pair of the sample day with its
cosines, topic-word coverage and standing (service/paper_judging.py), and how each include/exclude
line pair splits them.

    python -m bench.list_calibration [--data samples/questions-hf-daily.jsonl] [--judge]
        [--out bench/results/list-calibration.json]

Pairs above the include line are listed without the model; pairs below the exclude line are dropped
without it; the model weighs in on the band between. The chosen pair keeps the clear verdicts right
(precision of "yes", recall kept by "no") with the fewest model calls. --judge runs the model on every
pair of a wider band, for how much its margin adds. docs/BENCHMARKS.md has the tables.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from pathlib import Path

from bench.machine import machine
from index.sources import parse_file
from service.engines.factory import shared_generator
from service.evaluation.answers import load_questions, matches
from service.library import Library
from service.listing import default_scope, topic_of
from service.paper_judging import (
    CANDIDATES,
    EXCLUDE_STANDING,
    INCLUDE_STANDING,
    MIN_COSINE,
    centred,
    evidence,
    judge_margin,
    judge_papers,
    listed_after_judgement,
)
from service.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "hf-daily-papers-encoder.txt"


def pairs(library: Library, data: Path) -> list[dict]:
    """(question, paper) pairs of the list and recommend questions, labelled by the expected papers,
    with the paper's rank by standing."""
    scope = default_scope(library)
    papers = library.papers(scope.days)
    rows = []
    for question in load_questions(data):
        if question.kind not in ("list", "recommend"):
            continue
        judged = judge_papers(library, topic_of(question.question), papers)
        for rank, item in enumerate(judged, start=1):
            rows.append({"id": question.id, "kind": question.kind, "paper": item.paper.id, "rank": rank,
                         "cosine": round(item.cosine, 4), "sentence_cosine": round(item.sentence_cosine, 4),
                         "coverage": round(item.coverage, 4), "standing": round(item.standing, 3),
                         "relevant": any(matches(e, item.paper.id, item.paper.title) for e in question.papers)})
    return rows


def split(rows: list[dict], include: float, exclude: float, min_cosine: float, candidates: int) -> dict:
    """How one rule splits the list questions' pairs: listed at once, dropped at once, left to the model."""
    rows = [r for r in rows if r["kind"] == "list"]
    eligible = [r for r in rows if r["rank"] <= candidates and r["cosine"] >= min_cosine]
    yes = [r for r in eligible if r["standing"] >= include]
    maybe = [r for r in eligible if exclude <= r["standing"] < include]
    relevant = sum(r["relevant"] for r in rows)
    kept = sum(r["relevant"] for r in yes + maybe)
    return {"include": include, "exclude": exclude, "min_cosine": min_cosine, "candidates": candidates,
            "listed_at_once": len(yes), "precision_at_once": round(sum(r["relevant"] for r in yes) / len(yes), 3)
            if yes else None, "relevant_dropped": relevant - kept, "relevant": relevant, "model_calls": len(maybe)}


def grid(rows: list[dict]) -> list[dict]:
    return [split(rows, *values) for values in itertools.product(
        (1.8, 2.0, 2.2, 2.6), (1.4, 1.6, 1.8), (0.22, 0.26, 0.3), (5, 8))]


def _cost(result: dict) -> float:
    """A relevant paper dropped costs most; a wrong paper listed at once next; a model call a little."""
    wrong = (1 - (result["precision_at_once"] or 1.0)) * result["listed_at_once"]
    return result["relevant_dropped"] + wrong + 0.05 * result["model_calls"]


WIDE_BAND = (1.2, 2.6)  # the band --judge runs the model on, wider than the shipped one


def judge_margins(library: Library, data: Path) -> list[dict]:
    """The model's yes-minus-no margin for every list (question, paper) pair of the wide band, labelled."""
    generator = shared_generator(library.settings)
    papers = library.papers(default_scope(library).days)
    rows = []
    for question in load_questions(data):
        if question.kind != "list":
            continue
        topic = topic_of(question.question)
        band = [j for rank, j in enumerate(judge_papers(library, topic, papers)) if rank < CANDIDATES
                and j.cosine >= MIN_COSINE and WIDE_BAND[0] <= j.standing < WIDE_BAND[1]]
        found = evidence(library, topic, [j.paper for j in band])
        for item in band:
            margin = judge_margin(item.paper, [t for _, t in found.get(item.paper.id, [])], question.question,
                                  generator.score_choices)
            rows.append({"id": question.id, "paper": item.paper.id, "standing": item.standing,
                         "margin": round(margin, 3),
                         "relevant": any(matches(e, item.paper.id, item.paper.title) for e in question.papers)})
    return rows


def margin_table(rows: list[dict], band: tuple[float, float] = (EXCLUDE_STANDING, INCLUDE_STANDING)) -> list[dict]:
    """Per weight of the question-centred margin (as the product centres it: on the mean of the band's
    margins and the model's typical one): right and wrong decisions on the band's papers."""
    inside = [r for r in rows if band[0] <= r["standing"] < band[1]]
    table = []
    for weight in (0.0, 0.5, 1.0, 2.0, 4.0):
        decided = []
        for qid in {r["id"] for r in inside}:
            mine = [r for r in inside if r["id"] == qid]
            margins = centred([r["margin"] for r in mine])
            decided += [(r, listed_after_judgement(r["standing"], margin, weight))
                        for r, margin in zip(mine, margins, strict=True)]
        table.append({"weight": weight, "band": band, "pairs": len(decided),
                      "relevant_listed": sum(r["relevant"] and listed for r, listed in decided),
                      "wrong_listed": sum(not r["relevant"] and listed for r, listed in decided),
                      "relevant_dropped": sum(r["relevant"] and not listed for r, listed in decided)})
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
