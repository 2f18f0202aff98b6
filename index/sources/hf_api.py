"""Hugging Face daily-papers API JSON: a list of {"paper": {...}, "publishedAt": ..., ...} items."""

from __future__ import annotations

import json

from index.models import ParseResult
from index.sources.common import (
    Collector,
    Fields,
    SourceError,
    arxiv_abs_url,
    arxiv_id_from,
    json_type,
    parse_date,
    text_field,
)
from index.sources.generic import split_authors

FORMAT = "hf-api"


def parse(text: str, origin: str) -> ParseResult:
    items = load_items(text, origin)
    collector = Collector(origin, FORMAT)
    for number, item in enumerate(items, start=1):
        where = f"record {number}"
        if not isinstance(item, dict):
            collector.bad(where, f"expected an object, got {json_type(item)}")
            continue
        fields = _fields(collector, where, item)
        if fields is not None:
            collector.add(where, fields)
    return collector.result()


def load_items(text: str, origin: str) -> list:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SourceError(
            f"{origin}: line {error.lineno} column {error.colno}: not valid JSON ({error.msg})"
        ) from error
    if isinstance(data, dict) and "error" in data:
        raise SourceError(f"{origin}: the API answered with an error: {data['error']}")
    if not isinstance(data, list):
        raise SourceError(f"{origin}: expected a JSON list of daily-paper items, got {json_type(data)}")
    return data


def _fields(collector: Collector, where: str, item: dict) -> Fields | None:
    # /api/daily_papers wraps each paper in {"paper": ...}; /api/papers lists them bare.
    paper = item.get("paper", item)
    if not isinstance(paper, dict):
        collector.bad(where, f"'paper' is {json_type(paper)}, not an object")
        return None
    title = text_field(paper, "title") or text_field(item, "title")
    if not title:
        collector.bad(where, "no title")
        return None
    abstract = text_field(paper, "summary") or text_field(item, "summary") or ""
    raw_id = text_field(paper, "id") or ""
    arxiv = arxiv_id_from(raw_id) if raw_id.strip() else None
    if arxiv is None:
        collector.warn(where, f"id {raw_id!r} is not an arXiv id; identifying the paper by its title")
    feed_date = parse_date(item.get("publishedAt"))
    upvotes = paper.get("upvotes", item.get("upvotes"))
    return Fields(
        title=title,
        abstract=abstract,
        id=arxiv[0] if arxiv else None,
        version=arxiv[1] if arxiv else None,
        authors=split_authors(paper.get("authors")),
        url=arxiv_abs_url(arxiv[0]) if arxiv else "",
        published=parse_date(paper.get("publishedAt")),
        feed_dates=(feed_date,) if feed_date else (),
        upvotes=upvotes if isinstance(upvotes, int) and not isinstance(upvotes, bool) else None,
    )
