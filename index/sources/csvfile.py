"""CSV with a header row: title and abstract (or summary) columns, any case, plus optional ones."""

from __future__ import annotations

import csv
import io
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from index.models import ParseResult
from index.sources.common import Collector, SourceError
from index.sources.generic import add_record

if TYPE_CHECKING:
    from _csv import Reader

FORMAT = "csv"


def parse(text: str, origin: str) -> ParseResult:
    collector = Collector(origin, FORMAT)
    # newline="" lets the csv module see the raw line ends, so quoted multi-line fields work.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text, origin))
    header = _read_header(reader, origin)
    record_start = reader.line_num + 1
    try:
        for row in reader:
            where = f"line {record_start}"
            record_start = reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                collector.bad(where, f"has {len(row)} fields; the header has {len(header)}")
                continue
            add_record(collector, where, dict(zip(header, row, strict=True)))
    except csv.Error as error:
        raise SourceError(f"{origin}: line {reader.line_num}: unreadable CSV ({error})") from error
    return collector.result()


def header_columns(first_line: str, origin: str = "") -> list[str]:
    """The lower-cased column names of a header line."""
    row = next(csv.reader([first_line], delimiter=_delimiter(first_line, origin)), [])
    return [cell.strip().lower() for cell in row]


def has_required_columns(columns: list[str]) -> bool:
    return "title" in columns and ("abstract" in columns or "summary" in columns)


def _read_header(reader: Reader, origin: str) -> list[str]:
    try:
        row = next(reader, None)
    except csv.Error as error:
        raise SourceError(f"{origin}: line 1: unreadable CSV header ({error})") from error
    if row is None:
        raise SourceError(f"{origin}: the file is empty; expected a CSV header row")
    columns = [cell.strip().lower() for cell in row]
    if not has_required_columns(columns):
        found = ", ".join(repr(cell) for cell in row) or "none"
        raise SourceError(
            f"{origin}: line 1: a CSV file needs 'title' and 'abstract' (or 'summary') columns; found: {found}"
        )
    return columns


def _delimiter(text: str, origin: str) -> str:
    """Comma, unless the name says .tsv or the header line only has tabs or semicolons."""
    path = urlsplit(origin).path if "://" in origin else origin
    if PurePosixPath(path.replace("\\", "/")).suffix.lower() == ".tsv":
        return "\t"
    first_line = text.split("\n", 1)[0]
    if "," not in first_line:
        for candidate in ("\t", ";"):
            if candidate in first_line:
                return candidate
    return ","
