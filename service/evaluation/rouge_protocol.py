"""SciTLDR protocol: score against every gold, keep the gold with the best ROUGE-1 F,
report that gold's R1/R2/RL F1 × 100, average over papers (Cachola et al., 2020)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rouge_score import rouge_scorer

from index.text import sentences
from service.evaluation.runner import EvalDataError, read_json_lines


@dataclass(frozen=True)
class TldrItem:
    paper_id: str
    title: str
    abstract: str
    golds: tuple[str, ...]


def load_scitldr(path: Path, limit: int | None = None) -> list[TldrItem]:
    """SciTLDR-format JSON Lines: `paper_id`, `title`, `source` (sentences), `target` (gold TL;DRs)."""
    items = []
    for number, row in read_json_lines(path):
        source, target = row.get("source"), row.get("target")
        if "paper_id" not in row or not isinstance(source, list) or not isinstance(target, list) or not target:
            raise EvalDataError(f"{path}:{number}: a SciTLDR line needs paper_id, source (a list of sentences) "
                                "and target (a non-empty list of gold TL;DRs)")
        items.append(TldrItem(str(row["paper_id"]), row.get("title") or "", " ".join(source), tuple(target)))
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
