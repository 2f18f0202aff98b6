"""SciTLDR jsonl: {"paper_id", "title", "source": [sentences], "target": [tldrs], ...} per line."""

from __future__ import annotations

from index.clean import clean_text
from index.models import ParseResult
from index.sources.common import Collector, Fields, iter_json_objects, json_type, text_field

FORMAT = "scitldr"
TITLE_WORDS = 12  # a missing title is made from the abstract's opening words


def parse(text: str, origin: str) -> ParseResult:
    collector = Collector(origin, FORMAT)
    for where, record in iter_json_objects(text, collector):
        paper_id = text_field(record, "paper_id")
        if not paper_id or not paper_id.strip():
            collector.bad(where, "no 'paper_id'")
            continue
        abstract = _abstract(record.get("source"))
        if abstract is None:
            reason = f"'source' is {json_type(record.get('source'))}, not a list of sentences"
            collector.bad(where, reason)
            continue
        title = clean_text(text_field(record, "title") or "")
        if not title and abstract.strip():
            title = title_from_abstract(abstract)
            collector.warn(where, f"no title; using the abstract's first words: {title!r}")
        collector.add(where, Fields(title=title, abstract=abstract, id=f"scitldr-{paper_id.strip()}"))
    return collector.result()


def _abstract(source: object) -> str | None:
    """The abstract is the input sentences joined by spaces, as the SciTLDR paper does."""
    if source is None:
        return ""
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(sentence, str) for sentence in source):
        return " ".join(source)
    return None


def title_from_abstract(abstract: str) -> str:
    words = clean_text(abstract).split()
    if len(words) <= TITLE_WORDS:
        return " ".join(words)
    return " ".join(words[:TITLE_WORDS]) + "…"
