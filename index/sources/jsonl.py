"""Generic JSON Lines: one paper object per line, at least title and abstract/summary."""

from __future__ import annotations

from index.models import ParseResult
from index.sources.common import Collector, iter_json_objects
from index.sources.generic import add_record

FORMAT = "jsonl"


def parse(text: str, origin: str) -> ParseResult:
    collector = Collector(origin, FORMAT)
    for where, record in iter_json_objects(text, collector):
        add_record(collector, where, record)
    return collector.result()
