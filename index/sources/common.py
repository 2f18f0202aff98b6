"""Limits, errors and the record collector every source parser shares."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from index.clean import clean_text
from index.models import BadRecord, Paper, ParseResult, split_arxiv_id, title_id

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_ABSTRACT_CHARS = 20_000
MAX_TITLE_CHARS = 1_000

_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})(?:$|[T ])")


class SourceError(ValueError):
    """The whole input is unusable; the message names the file, where, and why."""


@dataclass(frozen=True)
class Fields:
    """The raw fields of one record, before cleaning."""

    title: str
    abstract: str
    id: str | None = None  # None: derive from the title
    version: int | None = None
    authors: tuple[str, ...] = ()
    url: str = ""
    published: date | None = None
    feed_dates: tuple[date, ...] = ()
    categories: tuple[str, ...] = ()
    upvotes: int | None = None


class Collector:
    """Turns raw records into Papers, bad records and warnings for one input."""

    def __init__(self, origin: str, source: str):
        self.origin = origin
        self.source = source
        self._papers: dict[str, tuple[str, Paper]] = {}
        self._bad: list[BadRecord] = []
        self._warnings: list[str] = []

    def bad(self, where: str, reason: str) -> None:
        self._bad.append(BadRecord(path=self.origin, where=where, reason=reason))

    def warn(self, where: str, message: str) -> None:
        self._warnings.append(f"{self.origin}: {where}: {message}")

    def add(self, where: str, fields: Fields) -> Paper | None:
        """Clean and check one record; keep it as a Paper, or record why not."""
        title = clean_text(fields.title)
        abstract = clean_text(fields.abstract)
        problem = _limit_problem(title, abstract)
        if problem:
            self.bad(where, problem)
            return None
        if not abstract:
            self.warn(where, f"empty abstract for {title!r}; skipped")
            return None
        paper = _make_paper(fields, title, abstract, self.source)
        previous = self._papers.pop(paper.id, None)
        if previous:
            self.warn(where, f"duplicate id {paper.id} (also at {previous[0]}); keeping this one")
        self._papers[paper.id] = (where, paper)
        return paper

    def result(self) -> ParseResult:
        return ParseResult(
            papers=tuple(paper for _, paper in self._papers.values()),
            bad=tuple(self._bad),
            warnings=tuple(self._warnings),
        )


def _limit_problem(title: str, abstract: str) -> str | None:
    if not title:
        return "no title"
    if len(title) > MAX_TITLE_CHARS:
        return f"title is {len(title)} characters; the limit is {MAX_TITLE_CHARS}"
    if len(abstract) > MAX_ABSTRACT_CHARS:
        return f"abstract is {len(abstract)} characters; the limit is {MAX_ABSTRACT_CHARS}"
    return None


def _make_paper(fields: Fields, title: str, abstract: str, source: str) -> Paper:
    authors = tuple(name for name in (clean_text(raw) for raw in fields.authors) if name)
    categories = tuple(dict.fromkeys(c for c in (clean_text(raw) for raw in fields.categories) if c))
    return Paper(
        id=fields.id or title_id(title),
        title=title,
        abstract=abstract,
        source=source,
        authors=authors,
        url=fields.url,
        published=fields.published,
        feed_dates=tuple(sorted(set(fields.feed_dates))),
        categories=categories,
        version=fields.version,
        upvotes=fields.upvotes,
    )


def merge_results(results: Iterable[ParseResult]) -> ParseResult:
    """Several inputs (e.g. API pages) as one result; a paper seen twice keeps its last version."""
    papers: dict[str, Paper] = {}
    bad: list[BadRecord] = []
    warnings: list[str] = []
    repeats = 0
    for result in results:
        for paper in result.papers:
            repeats += paper.id in papers
            papers.pop(paper.id, None)
            papers[paper.id] = paper
        bad.extend(result.bad)
        warnings.extend(result.warnings)
    if repeats:
        warnings.append(f"{repeats} paper(s) appeared in more than one page; kept the last copy")
    return ParseResult(papers=tuple(papers.values()), bad=tuple(bad), warnings=tuple(warnings))


def with_warnings(result: ParseResult, warnings: Iterable[str]) -> ParseResult:
    """The same result with `warnings` placed before its own."""
    return ParseResult(result.papers, result.bad, tuple(warnings) + result.warnings)


def iter_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) without the newline; only '\\n' ends a line.

    str.splitlines() would also split on U+2028/U+0085, which JSON allows inside strings.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line.removesuffix("\r")


def iter_json_objects(text: str, collector: Collector) -> Iterator[tuple[str, dict]]:
    """('line N', object) for each JSON Lines record; bad lines go to the collector."""
    for number, line in iter_lines(text):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            collector.bad(where, f"not valid JSON ({error.msg}; column {error.colno})")
            continue
        if not isinstance(record, dict):
            collector.bad(where, f"expected a JSON object, got {json_type(record)}")
            continue
        yield where, record


def json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def text_field(record: dict, *keys: str) -> str | None:
    """The first of `keys` that holds a string (numbers are accepted as text); None if absent."""
    for key in keys:
        value = record.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    return None


def parse_date(value: object) -> date | None:
    """'2024-01-02' or an ISO timestamp -> its calendar date as written; None if not a date."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    match = _ISO_DATE.match(value)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def arxiv_id_from(value: str) -> tuple[str, int | None] | None:
    """An arXiv id from a bare id or an arxiv.org URL (other sites' URLs are not arXiv ids)."""
    value = value.strip()
    if "://" in value and not urlsplit(value).netloc.lower().endswith("arxiv.org"):
        return None
    return split_arxiv_id(value)


def arxiv_abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"
