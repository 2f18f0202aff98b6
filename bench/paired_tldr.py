"""Paired comparison of two `paperbrief eval tldr` reports over the same SciTLDR papers: per paper, the
SciTLDR protocol's R1/R2/RL (best gold by R1, `service.evaluation.rouge_protocol`), then the mean paired
difference with its standard error, and in how many papers it went up or down.

    python -m bench.paired_tldr BEFORE/tldr.json AFTER/tldr.json --data ../shared/data/scitldr/dev.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.paired_facts import paired
from service.evaluation.rouge_protocol import best_gold_scores, load_scitldr

MEASURES = ("R1", "R2", "RL")


def per_paper(report: Path, golds: dict[str, tuple[str, ...]], stemmed: bool) -> dict[str, tuple[float, ...]]:
    """Paper id -> (R1, R2, RL) of the report's TL;DR for it."""
    rows = json.loads(report.read_text(encoding="utf-8"))["rows"]
    return {row["paper_id"]: best_gold_scores(row["prediction"], golds[row["paper_id"]], stemmed)
            for row in rows if row["paper_id"] in golds}


def compare(before: Path, after: Path, data: Path, stemmed: bool = False) -> dict[str, dict[str, float]]:
    """Measure -> `bench.paired_facts.paired` over the papers both reports hold (scores in points)."""
    golds = {item.paper_id: item.golds for item in load_scitldr(data)}
    sides = [per_paper(path, golds, stemmed) for path in (before, after)]
    ids = sorted(set(sides[0]) & set(sides[1]))
    return {measure: paired([sides[0][i][index] / 100 for i in ids], [sides[1][i][index] / 100 for i in ids])
            | {"n": len(ids)} for index, measure in enumerate(MEASURES)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--data", type=Path, required=True, help="the SciTLDR JSON Lines both reports ran on")
    parser.add_argument("--stemmed", action="store_true", help="Porter-stemmed ROUGE (the default is unstemmed)")
    args = parser.parse_args()
    result = compare(args.before, args.after, args.data, args.stemmed)
    print(f"{result['R1']['n']} papers in both reports ({'stemmed' if args.stemmed else 'unstemmed'})")
    for measure, p in result.items():
        print(f"  {measure}  {p['before']:5.2f} → {p['after']:5.2f}  {p['diff']:+5.2f} ± {p['se']:.2f}"
              f"  (up in {p['up']}, down in {p['down']})")


if __name__ == "__main__":
    main()
