"""Where list answers draw their lines: every (list question, paper) pair of the sample day with its
cosines, topic-word coverage and standing (service/paper_judging.py), and how each include/exclude
line pair splits them.

    python -m bench.list_calibration [--data samples/questions-hf-daily.jsonl ...] [--judge]
        [--out bench/results/list-calibration.json]

Pairs above the include line are listed without the model; pairs below the exclude line are dropped
without it; the model weighs in on the band between. The chosen pair keeps the clear verdicts right
(precision of "yes", recall kept by "no") with the fewest model calls. --judge runs the model on every
pair of a wider band, for how much its likelihood gain adds under each rule. docs/BENCHMARKS.md has the tables.
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
    FLOOR_EXEMPT_STANDING,
    MIN_COSINE,
    evidence,
    judge_papers,
    likelihood_gains,
    listed_after_judgement,
    naming_papers,
    topic_alternatives,
    words_topic,
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


GAIN_BAND = (1.0, 3.0)  # the standings --judge runs the model on, wider than the shipped band


def judge_gains(library: Library, data: Path) -> list[dict]:
    """The model's likelihood gain for every list (question, paper) pair of the wide band, labelled, with
    what else decides the pair: a verbatim naming, the cosine floor, a short topic's words."""
    scorer = shared_generator(library.settings).score_continuations
    papers = library.papers(default_scope(library).days)
    rows = []
    for question in load_questions(data):
        if question.kind != "list":
            continue
        topic = topic_of(question.question)
        named, wordings = naming_papers(topic, papers), topic_alternatives(topic)
        band = [j for rank, j in enumerate(judge_papers(library, topic, papers))
                if rank < CANDIDATES and GAIN_BAND[0] <= j.standing < GAIN_BAND[1]]
        found = evidence(library, topic, [j.paper for j in band])
        gains = likelihood_gains([(j.paper, [t for _, t in found.get(j.paper.id, [])]) for j in band],
                                 question.question, scorer)
        rows += [{"id": question.id, "paper": j.paper.id, "standing": round(j.standing, 3), "gain": round(gain, 3),
                  "named": j.paper.id in named, "worded": words_topic(wordings, j.paper),
                  "above_floor": j.cosine >= MIN_COSINE or j.standing >= FLOOR_EXEMPT_STANDING,
                  "relevant": any(matches(e, j.paper.id, j.paper.title) for e in question.papers)}
                 for j, gain in zip(band, gains, strict=True)]
    return rows


def gain_table(rows: list[dict], relevant: int) -> list[dict]:
    """Per rule (include line, exclude line, weight of a nat of gain, list line): the wide band's pairs
    listed right and wrong, the relevant pairs of all the questions missed, and the model calls."""
    table = []
    for include, exclude, weight, line in itertools.product((2.2, 2.4, 2.6, 3.0), (1.2, 1.4, 1.6),
                                                            (0.0, 0.05, 0.07, 0.1), (1.8, 2.0, 2.2, 2.4)):
        band = [r for r in rows if r["above_floor"] and not r["named"] and exclude <= r["standing"] < include
                and r["worded"]]
        listed = [r for r in rows if r["named"] or (r["above_floor"] and r["standing"] >= include)]
        listed += [r for r in band if listed_after_judgement(r["standing"], r["gain"], weight, line)]
        right = sum(r["relevant"] for r in listed)
        table.append({"include": include, "exclude": exclude, "weight": weight, "line": line, "right": right,
                      "wrong": len(listed) - right, "missed": relevant - right, "model_calls": len(band)})
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", default=[REPO / "samples" / "questions-hf-daily.jsonl"])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "list-calibration.json")
    parser.add_argument("--judge", action="store_true", help="also run the model on the borderline pairs")
    args = parser.parse_args()
    library = Library(Settings(home=Path(tempfile.mkdtemp(prefix="pb-list-"))))
    library.ingest([parse_file(SAMPLE)])
    rows = [row for data in args.data for row in pairs(library, data)]
    results = grid(rows)
    report = {"machine": machine(), "data": [str(data) for data in args.data], "pairs": rows, "grid": results}
    if args.judge:
        report["gains"] = [row for data in args.data for row in judge_gains(library, data)]
        relevant = sum(r["relevant"] for r in rows if r["kind"] == "list")
        report["gain_table"] = gain_table(report["gains"], relevant)
    args.out.write_text(json.dumps(report, indent=1))
    for result in sorted(results, key=_cost)[:10]:
        print(result)


if __name__ == "__main__":
    main()
