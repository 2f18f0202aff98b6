"""Every input format paperbrief reads: decoding, format detection and dispatch."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from index.models import ParseResult
from index.sources import arxiv, csvfile, hf_api, hf_page, jsonl, scifact, scitldr
from index.sources.common import MAX_ABSTRACT_CHARS, MAX_FILE_BYTES, MAX_TITLE_CHARS, SourceError, with_warnings

__all__ = [
    "FORMATS",
    "MAX_ABSTRACT_CHARS",
    "MAX_FILE_BYTES",
    "MAX_TITLE_CHARS",
    "SourceError",
    "decode",
    "detect_format",
    "parse_bytes",
    "parse_file",
]

FORMATS: tuple[str, ...] = ("hf-page", "hf-api", "arxiv", "jsonl", "csv", "scifact", "scitldr")
PARSERS: dict[str, Callable[[str, str], ParseResult]] = {
    "hf-page": hf_page.parse,
    "hf-api": hf_api.parse,
    "arxiv": arxiv.parse,
    "jsonl": jsonl.parse,
    "csv": csvfile.parse,
    "scifact": scifact.parse,
    "scitldr": scitldr.parse,
}
_REPORTED_DECODE_ERRORS = 5  # the first few invalid sequences get their own warning
_SNIFFED_JSON_LINES = 5
_SURROGATE_RUN = re.compile(r"[\udc80-\udcff]+")


def decode(data: bytes, origin: str) -> tuple[str, list[str]]:
    """UTF-8 text (a BOM is dropped; UTF-16 with a BOM is accepted); invalid bytes become U+FFFD."""
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace"), []
    skipped = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[skipped:].decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    # surrogateescape keeps each bad byte findable, so warnings can give its offset.
    text = data[skipped:].decode("utf-8", errors="surrogateescape")
    runs = list(_SURROGATE_RUN.finditer(text))
    warnings = [_decode_warning(text, run, skipped, origin) for run in runs[:_REPORTED_DECODE_ERRORS]]
    if len(runs) > _REPORTED_DECODE_ERRORS:
        warnings.append(f"{origin}: {len(runs)} invalid UTF-8 sequences in all; each was replaced with U+FFFD")
    return _SURROGATE_RUN.sub("\ufffd", text), warnings


def _decode_warning(text: str, run: re.Match[str], skipped: int, origin: str) -> str:
    byte_offset = skipped + len(text[: run.start()].encode("utf-8", errors="surrogateescape"))
    line = text.count("\n", 0, run.start()) + 1
    return (
        f"{origin}: byte {byte_offset} (line {line}): invalid UTF-8 ({len(run.group())} byte(s)); replaced with U+FFFD"
    )


def detect_format(origin: str, text: str) -> str:
    """The format of `text`, from its content first and the name's extension second."""
    head = text.lstrip("\ufeff \t\r\n")
    suffix = _suffix(origin)
    if not head:
        raise SourceError(f"{origin}: the file is empty")
    if "\x00" in head[:4096]:
        raise SourceError(f"{origin}: looks like a binary file (it contains NUL bytes), not text")
    if head.startswith("<"):
        return _detect_xml(origin, head, suffix)
    if head.startswith("["):
        return "hf-api"
    if head.startswith("{"):
        # A .json holding one object is most likely an API error answer: hf-api reports it.
        if suffix == ".json" and _is_single_json_object(text):
            return "hf-api"
        return _detect_json_lines(origin, text)
    if suffix in (".json", ".jsonl", ".ndjson", ".xml", ".atom"):
        raise SourceError(f"{origin}: named {suffix} but does not start like one (first line: {_first_line(head)!r})")
    if suffix in (".csv", ".tsv") or csvfile.has_required_columns(csvfile.header_columns(_first_line(head), origin)):
        return "csv"
    if any(hf_page.is_prose(block.text) for block in hf_page.read_blocks(head[:200_000])):
        return "hf-page"
    raise SourceError(
        f"{origin}: unrecognised format (first line: {_first_line(head)!r}); expected one of {', '.join(FORMATS)}"
    )


def _detect_xml(origin: str, head: str, suffix: str) -> str:
    start = head[:2000]
    if "<feed" in start or "http://www.w3.org/2005/Atom" in start or suffix in (".xml", ".atom"):
        return "arxiv"
    if re.search(r"<(!doctype html|html)\b", start, re.IGNORECASE):
        raise SourceError(f"{origin}: an HTML page; save the page as text (the hf-page format) or use the API")
    raise SourceError(f"{origin}: XML but not an Atom feed (arXiv API); no parser for it")


def _detect_json_lines(origin: str, text: str) -> str:
    """SciFact, SciTLDR or generic JSON Lines, from the keys of the first records."""
    keys: set[str] = set()
    seen = 0
    for line in text.split("\n"):
        if seen >= _SNIFFED_JSON_LINES:
            break
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            keys |= set(record)
            seen += 1
    if not seen and _is_single_json_object(text):
        raise SourceError(f"{origin}: one JSON object, not JSON Lines or a list of daily-paper items")
    if {"_id", "title", "text"} <= keys:
        return "scifact"
    if {"paper_id", "source"} <= keys and ({"target", "title"} & keys):
        return "scitldr"
    return "jsonl"


def _is_single_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False


def parse_bytes(data: bytes, origin: str, fmt: str | None = None) -> ParseResult:
    """Decode, detect the format unless given, and parse."""
    if len(data) > MAX_FILE_BYTES:
        raise SourceError(f"{origin}: {len(data)} bytes; the limit is {MAX_FILE_BYTES} bytes")
    if fmt is not None and fmt not in PARSERS:
        raise SourceError(f"{origin}: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    text, warnings = decode(data, origin)
    parser = PARSERS[fmt or detect_format(origin, text)]
    return with_warnings(parser(text, origin), warnings)


def parse_file(path: str | Path, fmt: str | None = None) -> ParseResult:
    """Read a local file (with clear errors for missing, directory, too big, unreadable) and parse it."""
    path = Path(path)
    origin = str(path)
    try:
        if path.is_dir():
            raise SourceError(f"{origin}: is a directory, not a file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SourceError(f"{origin}: {size} bytes; the limit is {MAX_FILE_BYTES} bytes")
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise SourceError(f"{origin}: no such file") from error
    except OSError as error:
        raise SourceError(f"{origin}: cannot read the file ({error.strerror or error})") from error
    return parse_bytes(data, origin, fmt)


def _suffix(origin: str) -> str:
    path = urlsplit(origin).path if "://" in origin else origin
    return PurePosixPath(path.replace("\\", "/")).suffix.lower()


def _first_line(text: str) -> str:
    line = text.split("\n", 1)[0].strip()
    return line if len(line) <= 80 else line[:77] + "..."
