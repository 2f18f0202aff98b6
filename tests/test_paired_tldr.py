"""bench/paired_tldr.py: per-paper ROUGE differences between two `eval tldr` reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.paired_tldr import compare
from service.evaluation.rouge_protocol import load_scitldr

DATA = Path(__file__).parent / "fixtures" / "sources" / "scitldr" / "sample.jsonl"


def write_report(path: Path, predictions: dict[str, str]) -> Path:
    rows = [{"paper_id": paper_id, "prediction": text, "lead1": ""} for paper_id, text in predictions.items()]
    path.write_text(json.dumps({"rows": rows}), encoding="utf-8")
    return path


def test_a_gold_copy_gains_on_its_paper_only_and_unknown_papers_are_skipped(tmp_path):
    items = load_scitldr(DATA)
    same = {item.paper_id: "we study neural networks" for item in items}
    better = same | {items[0].paper_id: items[0].golds[0], "not-in-the-data": "anything"}
    result = compare(write_report(tmp_path / "a.json", same), write_report(tmp_path / "b.json", better), DATA)
    r1 = result["R1"]
    assert r1["n"] == len(items)
    assert (r1["up"], r1["down"]) == (1, 0)
    assert r1["after"] - r1["before"] == pytest.approx(r1["diff"])
    assert 0 < r1["diff"] <= 100 / len(items)
    assert r1["se"] > 0
