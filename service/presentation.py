"""How results look outside the process: papers, search hits, answers and comparisons as JSON, and
comparisons as CSV and Markdown. The CLI, the HTTP API and the web app all render through here."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict

from index.models import Paper
from index.text import split_sentences
from service.ask import AskResult
from service.compare import FIELDS, HEADERS, Cell, Comparison, Row
from service.search import SearchHit

COMPARISON_FORMATS = ("markdown", "json", "csv")
LEGEND = "(sN) = the abstract sentence behind a cell; † = quoted from the abstract, the model's phrase lacked support."


def paper_json(paper: Paper) -> dict:
    data = asdict(paper)
    data["published"] = paper.published.isoformat() if paper.published else None
    data["feed_dates"] = [day.isoformat() for day in paper.feed_dates]
    return data


def hit_json(hit: SearchHit) -> dict:
    return {
        "paper": paper_json(hit.paper), "score": hit.score, "dense_rank": hit.dense_rank,
        "bm25_rank": hit.bm25_rank, "chunk_ids": [chunk.id for chunk in hit.chunks],
        "sentences": [asdict(sentence) for sentence in hit.sentences],
    }


def result_json(result: AskResult) -> dict:
    """The result as plain JSON (CLI --json, HTTP API)."""
    return {
        "question": result.question,
        "kind": result.kind,
        "answer": result.text,
        "abstained": result.abstained,
        "reason": result.reason,
        "citations": [
            {"number": c.number, "paper_id": c.paper_id, "title": c.title, "url": c.url,
             "sentence_indices": list(c.sentence_indices), "sentences": list(c.sentences),
             "support": c.support, "added": c.added}
            for c in result.citations
        ],
        "notes": list(result.notes),
        "query": result.retrieval.query,
        "relevance": round(result.retrieval.relevance, 4),
        "passages": [
            {"number": p.number, "paper_id": p.paper.id, "title": p.paper.title, "chunk_id": p.chunk_id,
             "relevance": p.relevance}
            for p in result.retrieval.passages
        ],
        "comparison": comparison_json(result.comparison) if result.comparison else None,
    }


def comparison_json(comparison: Comparison) -> dict:
    return {
        "fields": list(FIELDS),
        "papers": [_row_json(row) for row in comparison.table.rows],
        "summary": comparison.summary,
        "summary_origin": comparison.summary_origin,
    }


def _row_json(row: Row) -> dict:
    spans = split_sentences(row.paper.abstract)
    cells = {}
    for field, cell in zip(FIELDS, row.cells, strict=True):
        start, end = spans[cell.sentence_index] if cell.sentence_index is not None else (None, None)
        cells[field] = {"text": cell.text, "sentence_index": cell.sentence_index, "supported": cell.supported,
                        "origin": cell.origin, "char_start": start, "char_end": end,
                        "sentence": row.paper.abstract[start:end] if start is not None else None}
    return {"letter": row.letter, "name": row.name, "id": row.paper.id, "title": row.paper.title,
            "url": row.paper.url, "cells": cells}


def comparison_csv(comparison: Comparison) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["letter", "id", "title"] + [f"{f}{suffix}" for f in FIELDS for suffix in ("", "_sentence", "_origin")])
    for row in comparison.table.rows:
        cells = [v for c in row.cells for v in (c.text, "" if c.sentence_index is None else c.sentence_index, c.origin)]
        writer.writerow([row.letter, row.paper.id, row.paper.title, *cells])
    return out.getvalue()


def comparison_markdown(comparison: Comparison) -> str:
    header = "| Paper | " + " | ".join(HEADERS[f] for f in FIELDS) + " |"
    lines = [header, "|" + " --- |" * (len(FIELDS) + 1)]
    for row in comparison.table.rows:
        lines.append(f"| [{row.letter}] {_md_cell(row.name)} | " + " | ".join(_md_text(c) for c in row.cells) + " |")
    lines += ["", f"**Similarities and differences.** {comparison.summary}", "", "Papers:"]
    lines += [f"- [{row.letter}] {_md_cell(row.paper.title)} ({row.paper.id})" for row in comparison.table.rows]
    lines += ["", LEGEND]
    return "\n".join(lines) + "\n"


def _md_text(cell: Cell) -> str:
    if cell.sentence_index is None:
        return _md_cell(cell.text)
    return f"{_md_cell(cell.text)}{' †' if cell.origin == 'extractive' else ''} (s{cell.sentence_index + 1})"


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
