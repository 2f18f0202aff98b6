"""SciTLDR protocol: score against every gold, keep the gold with the best ROUGE-1 F,
report that gold's R1/R2/RL F1 × 100, average over papers (Cachola et al., 2020)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rouge_score import rouge_scorer

from index.sentences import sentences


@dataclass(frozen=True)
class TldrItem:
    paper_id: str
    title: str
    abstract: str
    golds: tuple[str, ...]


def load_scitldr(path: Path, limit: int | None = None) -> list[TldrItem]:
    items = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                items.append(TldrItem(row["paper_id"], row.get("title") or "", " ".join(row["source"]),
                                      tuple(row["target"])))
            if limit and len(items) >= limit:
                break
    return items


def best_gold_scores(prediction: str, golds: Sequence[str], stemmed: bool) -> tuple[float, float, float]:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=stemmed)
    best = max((scorer.score(gold, prediction) for gold in golds), key=lambda s: s["rouge1"].fmeasure)
    return tuple(100 * best[name].fmeasure for name in ("rouge1", "rouge2", "rougeL"))


def corpus_scores(predictions: Iterable[tuple[str, Sequence[str]]], stemmed: bool) -> dict[str, float]:
    rows = [best_gold_scores(prediction, golds, stemmed) for prediction, golds in predictions]
    if not rows:
        return {"R1": 0.0, "R2": 0.0, "RL": 0.0, "n": 0}
    return {name: round(sum(r[i] for r in rows) / len(rows), 2) for i, name in enumerate(("R1", "R2", "RL"))} | {
        "n": len(rows)
    }


def lead_one(item: TldrItem) -> str:
    found = sentences(item.abstract)
    return found[0] if found else item.abstract
