"""arXiv API Atom feeds (export.arxiv.org/api/query)."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from index.models import ParseResult
from index.sources.common import Collector, Fields, SourceError, arxiv_abs_url, arxiv_id_from, parse_date

FORMAT = "arxiv"
ATOM = "http://www.w3.org/2005/Atom"
ARXIV = "http://arxiv.org/schemas/atom"
NS = {"atom": ATOM, "arxiv": ARXIV, "opensearch": "http://a9.com/-/spec/opensearch/1.1/"}
ERROR_ID_PREFIX = "http://arxiv.org/api/errors"
_ENTRY_TAG = re.compile(r"<(?:[\w.-]+:)?entry[\s>]")


def parse(text: str, origin: str) -> ParseResult:
    feed = load_feed(text, origin)
    entries = feed.findall("atom:entry", NS)
    _raise_for_api_error(entries, origin)
    collector = Collector(origin, FORMAT)
    for number, entry in enumerate(entries, start=1):
        where = f"entry {number}"
        fields = _fields(collector, where, entry)
        if fields is not None:
            collector.add(where, fields)
    return collector.result()


def load_feed(text: str, origin: str) -> Element:
    try:
        root = SafeElementTree.fromstring(text)
    except ParseError as error:
        line, column = error.position
        reason = str(error).split(":", 1)[0]
        raise SourceError(f"{origin}: line {line} column {column}: not well-formed XML ({reason})") from error
    except DefusedXmlException as error:
        raise SourceError(f"{origin}: refused unsafe XML ({error})") from error
    if root.tag != f"{{{ATOM}}}feed":
        raise SourceError(f"{origin}: not an Atom feed (the root element is {_local(root.tag)!r})")
    return root


def count_entries(text: str) -> int:
    """How many entries a feed holds, without parsing it (for paging)."""
    return len(_ENTRY_TAG.findall(text))


def total_results(text: str) -> int | None:
    """The feed's opensearch:totalResults, if given."""
    match = re.search(r"totalResults[^>]*>\s*(\d+)\s*<", text)
    return int(match.group(1)) if match else None


def _raise_for_api_error(entries: list[Element], origin: str) -> None:
    """The API reports a bad query as a feed whose one entry has an errors# id."""
    for entry in entries:
        if _text(entry, "atom:id").startswith(ERROR_ID_PREFIX):
            summary = _text(entry, "atom:summary") or _text(entry, "atom:id")
            raise SourceError(f"{origin}: the arXiv API reported an error: {summary}")


def _fields(collector: Collector, where: str, entry: Element) -> Fields | None:
    raw_id = _text(entry, "atom:id")
    arxiv = arxiv_id_from(raw_id) if raw_id else None
    if arxiv is None:
        collector.bad(where, f"entry id {raw_id!r} is not an arXiv abs URL" if raw_id else "no id")
        return None
    title = _text(entry, "atom:title")
    if not title:
        collector.bad(where, f"{arxiv[0]}: no title")
        return None
    authors = tuple(_text(author, "atom:name") for author in entry.findall("atom:author", NS))
    return Fields(
        title=title,
        abstract=_text(entry, "atom:summary"),
        id=arxiv[0],
        version=arxiv[1],
        authors=authors,
        url=arxiv_abs_url(arxiv[0]),
        published=parse_date(_text(entry, "atom:published")),
        categories=_categories(entry),
    )


def _categories(entry: Element) -> tuple[str, ...]:
    """Primary category first, then the others in feed order."""
    primary = entry.find("arxiv:primary_category", NS)
    terms = [primary.get("term", "")] if primary is not None else []
    terms += [category.get("term", "") for category in entry.findall("atom:category", NS)]
    return tuple(dict.fromkeys(term.strip() for term in terms if term.strip()))


def _text(element: Element, path: str) -> str:
    found = element.find(path, NS)
    return "".join(found.itertext()).strip() if found is not None else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
