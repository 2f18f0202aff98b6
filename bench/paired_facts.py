"""Paired comparison of two `paperbrief eval answers` reports on the same question set, scoring every
`answer_all` string (the per-paper facts of a multi-paper question), not only any one of `answer_any`.

    python -m bench.paired_facts BEFORE.json AFTER.json --data samples/questions-hf-daily-multi.jsonl

Per question: `right` (an expected fact in the answer, or an abstention where none is expected), `any`
(an answer_any string, not abstained), `all` (every answer_all string), `share` (the share of answer_all
strings), `abstained`. Prints both rates, the mean paired difference with its
standard error, and in how many questions it went up or down; questions marked "partial" separately.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

MEASURES = ("right", "any", "all", "share", "abstained")


def scores(row: dict, question: dict) -> dict[str, float]:
    facts = question.get("answer_all") or []
    text = row["answer"].lower()
    present = [] if row["abstained"] else [fact for fact in facts if fact.lower() in text]
    right = (row["contains"] and not row["abstained"]) if row["answerable"] else row["abstained"]
    return {"right": float(right), "any": float(row["contains"]),
            "all": float(bool(facts) and len(present) == len(facts)),
            "share": len(present) / len(facts) if facts else 0.0, "abstained": float(row["abstained"])}


def paired(before: list[float], after: list[float]) -> dict[str, float]:
    diffs = [b - a for a, b in zip(before, after, strict=True)]
    spread = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else 0.0
    return {"before": 100 * statistics.mean(before), "after": 100 * statistics.mean(after),
            "diff": 100 * statistics.mean(diffs), "se": 100 * spread,
            "up": sum(d > 0 for d in diffs), "down": sum(d < 0 for d in diffs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--data", type=Path, required=True, help="the questions JSON Lines both reports ran on")
    args = parser.parse_args()
    questions = {q["id"]: q for q in map(json.loads, args.data.read_text().splitlines()) if q}
    rows = [{r["id"]: r for r in json.loads(path.read_text())["rows"]} for path in (args.before, args.after)]
    for label, keep in (("all questions", lambda q: True), ("partial only", lambda q: q.get("partial"))):
        ids = [i for i, q in questions.items() if keep(q) and all(i in side for side in rows)]
        if not ids:
            continue
        print(f"{label} (n={len(ids)})")
        for measure in MEASURES:
            before, after = ([scores(side[i], questions[i])[measure] for i in ids] for side in rows)
            p = paired(before, after)
            print(f"  {measure:9} {p['before']:5.1f} → {p['after']:5.1f}  {p['diff']:+5.1f} ± {p['se']:.1f}"
                  f"  (up in {p['up']}, down in {p['down']})")


if __name__ == "__main__":
    main()
