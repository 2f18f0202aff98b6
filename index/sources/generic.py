"""Field mapping for user-supplied tables (JSON Lines and CSV share it)."""

from __future__ import annotations

import re
from datetime import date

from index.sources.common import Collector, Fields, arxiv_abs_url, arxiv_id_from, json_type, parse_date, text_field

_AUTHOR_SEPARATORS = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s+&\s+")
_CATEGORY_SEPARATORS = re.compile(r"[;,\s]+")


def add_record(collector: Collector, where: str, record: dict) -> None:
    """One record with at least title and abstract/summary (any key case) into `collector`."""
    record = {str(key).strip().lower(): value for key, value in record.items()}
    title = text_field(record, "title")
    if title is None:
        value = record.get("title")
        missing = value is None or value == ""
        collector.bad(where, "no title" if missing else f"title is {json_type(value)}, not text")
        return
    arxiv = _arxiv_id(record)
    url = text_field(record, "url") or (arxiv_abs_url(arxiv[0]) if arxiv else "")
    fields = Fields(
        title=title,
        abstract=_abstract(record),
        id=arxiv[0] if arxiv else None,
        version=arxiv[1] if arxiv else None,
        authors=split_authors(record.get("authors")),
        url=url.strip(),
        published=_date_field(collector, where, record, "published"),
        feed_dates=_feed_dates(collector, where, record),
        categories=split_categories(record.get("categories")),
        upvotes=_upvotes(record.get("upvotes")),
    )
    collector.add(where, fields)


def split_authors(value: object) -> tuple[str, ...]:
    """A list of names / {"name": ...} objects, or one string "A; B" or "A, B and C"."""
    if isinstance(value, list):
        names = [item.get("name") if isinstance(item, dict) else item for item in value]
        return tuple(name.strip() for name in names if isinstance(name, str) and name.strip())
    if not isinstance(value, str) or not value.strip():
        return ()
    parts = value.split(";") if ";" in value else _AUTHOR_SEPARATORS.split(value)
    return tuple(part.strip() for part in parts if part.strip())


def split_categories(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(item.strip() for item in value if isinstance(item, str) and item.strip())
    if isinstance(value, str):
        return tuple(part for part in _CATEGORY_SEPARATORS.split(value) if part)
    return ()


def _abstract(record: dict) -> str:
    value = record.get("abstract", record.get("summary"))
    if isinstance(value, list):  # an abstract given as its sentences
        return " ".join(item for item in value if isinstance(item, str))
    return text_field(record, "abstract", "summary") or ""


def _arxiv_id(record: dict) -> tuple[str, int | None] | None:
    for key in ("id", "arxiv_id", "url"):
        value = text_field(record, key)
        parsed = arxiv_id_from(value) if value else None
        if parsed:
            return parsed
    return None


def _date_field(collector: Collector, where: str, record: dict, key: str) -> date | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    parsed = parse_date(value)
    if parsed is None:
        collector.warn(where, f"{key} {value!r} is not an ISO date (YYYY-MM-DD); left empty")
    return parsed


def _feed_dates(collector: Collector, where: str, record: dict) -> tuple[date, ...]:
    values = record.get("feed_dates", record.get("feed_date"))
    if isinstance(values, str):
        values = [part for part in _CATEGORY_SEPARATORS.split(values) if part]
    if not isinstance(values, list):
        return ()
    dates = []
    for value in values:
        parsed = parse_date(value)
        if parsed is None:
            collector.warn(where, f"feed date {value!r} is not an ISO date (YYYY-MM-DD); ignored")
        else:
            dates.append(parsed)
    return tuple(dates)


def _upvotes(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
