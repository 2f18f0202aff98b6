"""BEIR SciFact corpus.jsonl: {"_id", "title", "text", "metadata"} per line."""

from __future__ import annotations

from index.models import ParseResult
from index.sources.common import Collector, Fields, iter_json_objects, text_field

FORMAT = "scifact"


def parse(text: str, origin: str) -> ParseResult:
    collector = Collector(origin, FORMAT)
    for where, record in iter_json_objects(text, collector):
        doc_id = text_field(record, "_id")
        if not doc_id or not doc_id.strip():
            collector.bad(where, "no '_id'")
            continue
        title = text_field(record, "title")
        if title is None:
            collector.bad(where, "no title")
            continue
        abstract = text_field(record, "text") or ""
        collector.add(where, Fields(title=title, abstract=abstract, id=f"scifact-{doc_id.strip()}"))
    return collector.result()
