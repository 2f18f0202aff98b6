"""What every source format shares: text cleaning, decoding, size limits, file errors and format detection
(the parsers of each format: test_sources_feeds, test_sources_records)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.clean import clean_text
from index.sources import (
    FORMATS,
    MAX_ABSTRACT_CHARS,
    MAX_FILE_BYTES,
    MAX_TITLE_CHARS,
    SourceError,
    decode,
    detect_format,
    parse_bytes,
    parse_file,
)
from tests.sources_support import fixture, titles

# --- clean_text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Attention\n\tIs  All\r\nYou Need ", "Attention Is All You Need"),
        ("H<sub>2</sub>O and <i>in vivo</i>", "H2O and in vivo"),
        ("<p>First.</p><p>Second.</p>", "First. Second."),
        ("Safe<script>alert('x')</script> text<style>p{}</style>", "Safe text"),
        ("AT&amp;T &lt;b&gt;bold&lt;/b&gt; p &lt; 0.05", "AT&T bold p < 0.05"),
        ("Runs in $O(n^2)$ when $a<b$ and n<k and k>2", "Runs in $O(n^2)$ when $a<b$ and n<k and k>2"),
        ("bell\x07 null\x00 del\x7f c1\x85end", "bell null del c1 end"),
        ("soft\u00adhyphen zero\u200bwidth \ufeffbom", "softhyphen zerowidth bom"),
        ("Rozie\u0300re", "Rozière"),  # decomposed accent -> NFC
        ("line\u2028separator\u00a0nbsp", "line separator nbsp"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ('<a href="https://x.org">link</a> <jats:p>JATS <jats:italic>it</jats:italic></jats:p>', "link JATS it"),
        ("", ""),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


# --- decoding, limits, files ----------------------------------------------------------------


def test_invalid_utf8_warns_with_offset_and_still_parses() -> None:
    path = fixture("encoding/invalid_utf8.jsonl")
    result = parse_file(path)
    assert [paper.id for paper in result.papers] == ["1706.03762", "2302.13971"]
    assert result.papers[1].authors[1] == "Baptiste Rozi\ufffdre"
    offset = path.read_bytes().index(b"\xe8")
    assert result.warnings == (f"{path}: byte {offset} (line 2): invalid UTF-8 (1 byte(s)); replaced with U+FFFD",)


def test_decode_handles_bom_and_counts_many_errors() -> None:
    assert decode(b"\xef\xbb\xbfplain", "x") == ("plain", [])
    assert decode("Gödel".encode("utf-16"), "x") == ("Gödel", [])
    text, warnings = decode(b"a\xffb\n" * 8, "many.txt")
    assert text == "a\ufffdb\n" * 8
    assert warnings[0] == "many.txt: byte 1 (line 1): invalid UTF-8 (1 byte(s)); replaced with U+FFFD"
    assert "byte 5 (line 2)" in warnings[1]
    assert warnings[-1] == "many.txt: 8 invalid UTF-8 sequences in all; each was replaced with U+FFFD"


def test_oversized_title_and_abstract_are_bad_records() -> None:
    records = [
        {"title": "Long Abstract", "abstract": "word " * (MAX_ABSTRACT_CHARS // 5 + 1)},
        {"title": "T" * (MAX_TITLE_CHARS + 1), "abstract": "Fine."},
        {"title": "Just Right", "abstract": "a" * MAX_ABSTRACT_CHARS},
    ]
    data = "\n".join(json.dumps(record) for record in records).encode()
    result = parse_bytes(data, "big.jsonl")
    assert titles(result) == ["Just Right"]
    assert [(bad.where, bad.reason) for bad in result.bad] == [
        ("line 1", f"abstract is {MAX_ABSTRACT_CHARS + 4} characters; the limit is 20000"),
        ("line 2", f"title is {MAX_TITLE_CHARS + 1} characters; the limit is 1000"),
    ]


def test_html_and_control_characters_are_cleaned_in_every_field() -> None:
    record = {
        "title": "A <i>Clean</i>\x0b Title &amp; More",
        "abstract": "<p>Body\x00 text</p><script>evil()</script>",
        "authors": ["Ada\x07 <b>Lovelace</b>", "  "],
    }
    paper = parse_bytes(json.dumps(record).encode(), "r.jsonl").papers[0]
    assert (paper.title, paper.abstract, paper.authors) == ("A Clean Title & More", "Body text", ("Ada Lovelace",))


def test_parse_file_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        parse_file(tmp_path / "missing.jsonl")
    with pytest.raises(SourceError, match="is a directory"):
        parse_file(tmp_path)
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        parse_file(empty)
    with pytest.raises(SourceError, match="unknown format 'pdf'"):
        parse_file(fixture("jsonl/papers.jsonl"), fmt="pdf")


def test_file_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    with big.open("wb") as handle:  # sparse: no real disk use
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(SourceError, match="the limit is 268435456 bytes"):
        parse_file(big)


# --- format detection ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hf_page/quirks.txt", "hf-page"),
        ("hf_api/daily.json", "hf-api"),
        ("hf_api/api_error.json", "hf-api"),
        ("arxiv/query.xml", "arxiv"),
        ("arxiv/broken.xml", "arxiv"),
        ("jsonl/papers.jsonl", "jsonl"),
        ("jsonl/broken.jsonl", "jsonl"),
        ("csv/papers.csv", "csv"),
        ("csv/missing_column.csv", "csv"),
        ("scifact/corpus_sample.jsonl", "scifact"),
        ("scitldr/sample.jsonl", "scitldr"),
    ],
)
def test_detect_format_from_files(name: str, expected: str) -> None:
    text, _ = decode(fixture(name).read_bytes(), name)
    assert detect_format(str(fixture(name)), text) == expected


@pytest.mark.parametrize("name", ["hf_api/daily.json", "arxiv/query.xml", "scitldr/sample.jsonl"])
def test_detect_format_by_content_when_the_name_says_nothing(name: str) -> None:
    text, _ = decode(fixture(name).read_bytes(), name)
    origin = "https://example.org/download?id=7"
    assert detect_format(origin, text) == parse_bytes(fixture(name).read_bytes(), origin).papers[0].source


def test_detect_format_csv_header_without_extension() -> None:
    assert detect_format("export", "ID,Title,Summary\n1,A,B\n") == "csv"


@pytest.mark.parametrize(
    ("origin", "text", "message"),
    [
        ("empty.txt", "  \n\n", "empty"),
        ("page.html", "<!DOCTYPE html><html><body>x</body></html>", "an HTML page"),
        ("notes.txt", "just\na few\nshort lines\n", "unrecognised format"),
        ("data.jsonl", "title,abstract\n", "named .jsonl but does not start like one"),
        ("blob.bin", "\x00\x01\x02", "binary"),
    ],
)
def test_detect_format_raises_when_nothing_fits(origin: str, text: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        detect_format(origin, text)


GOOD_FIXTURE = {
    "hf-page": "hf_page/quirks.txt",
    "hf-api": "hf_api/daily.json",
    "arxiv": "arxiv/query.xml",
    "jsonl": "jsonl/papers.jsonl",
    "csv": "csv/papers.csv",
    "scifact": "scifact/corpus_sample.jsonl",
    "scitldr": "scitldr/sample.jsonl",
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_parses_its_fixture_when_named(fmt: str) -> None:
    result = parse_bytes(fixture(GOOD_FIXTURE[fmt]).read_bytes(), "no-extension", fmt=fmt)
    assert result.papers and {paper.source for paper in result.papers} == {fmt}
