"""Source parsers, decoding, format detection and text cleaning."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from index.clean import clean_text
from index.models import title_id
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

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
SHARED_DATA = Path(__file__).parents[2] / "shared" / "data"
DAILY_PAGE = SHARED_DATA / "daily" / "hf-daily-papers-encoder.txt"


def fixture(name: str) -> Path:
    return FIXTURES / name


def titles(result) -> list[str]:
    return [paper.title for paper in result.papers]


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


# --- the real Hugging Face page ----------------------------------------------------------------


@pytest.mark.skipif(not DAILY_PAGE.exists(), reason="shared data not present")
def test_hf_page_sample_gives_exactly_thirty_papers() -> None:
    result = parse_file(DAILY_PAGE)
    assert len(result.papers) == 30
    assert result.bad == ()
    assert result.warnings == ()
    assert result.papers[0].title == "Exploring the Potential of Encoder-free Architectures in 3D LMMs"
    assert result.papers[-1].title == ("LXMERT: Learning Cross-Modality Encoder Representations from Transformers")
    first = result.papers[0]
    assert first.id == title_id(first.title)
    assert first.source == "hf-page" and first.url == ""
    assert first.abstract.startswith("Encoder-free architectures have been preliminarily explored")
    assert first.abstract.endswith("https://github.com/Ivan-Tang-3D/ENEL")
    assert len({paper.id for paper in result.papers}) == 30
    assert all(len(paper.abstract) > 1000 for paper in result.papers)
    assert detect_format(str(DAILY_PAGE), DAILY_PAGE.read_text()) == "hf-page"


def test_hf_page_tolerates_chrome_missing_blank_line_and_short_abstract() -> None:
    result = parse_file(fixture("hf_page/quirks.txt"))
    assert titles(result) == [
        "Mixture-of-Depths: Dynamically allocating compute in transformer-based language models",
        "Scaling Laws for Neural Language Models",
        "Is Cosine-Similarity of Embeddings Really About Similarity?",
        "Tiny & Short: A Paper With A One-Sentence Abstract",
        "Textbooks Are All You Need",
    ]
    assert result.bad == ()
    scaling = result.papers[1]
    assert scaling.abstract.startswith("We study empirical scaling laws")
    assert result.papers[3].abstract == "We show that short abstracts still pair with their titles."
    # Chrome (dates, counters, "Submitted by", "Previous") is silent; a lone title is not.
    assert len(result.warnings) == 1
    assert "line 26" in result.warnings[0] and "A Title Whose Abstract Went Missing" in result.warnings[0]


def test_hf_page_dangling_paragraphs_are_bad_records_with_line_numbers() -> None:
    result = parse_file(fixture("hf_page/broken.txt"))
    assert titles(result) == ["Is Cosine-Similarity of Embeddings Really About Similarity?"]
    assert [bad.where for bad in result.bad] == ["line 5", "line 11"]
    assert all("no title" in bad.reason for bad in result.bad)


def test_hf_page_title_at_end_without_abstract_warns() -> None:
    text = "Daily Papers\n\nA Lonely Title\n"
    result = parse_bytes(text.encode(), "page.txt", fmt="hf-page")
    assert result.papers == () and result.bad == ()
    assert result.warnings == ("page.txt: line 3: no abstract after the title 'A Lonely Title'; skipped",)


# --- Hugging Face API ----------------------------------------------------------------------------


def test_hf_api_parses_items() -> None:
    result = parse_file(fixture("hf_api/daily.json"))
    assert result.bad == () and result.warnings == ()
    assert [paper.id for paper in result.papers] == ["2302.13971", "2106.09685", "2312.00752", "2307.09288"]
    llama, lora, mamba, _ = result.papers
    assert llama.source == "hf-api"
    assert llama.url == "https://arxiv.org/abs/2302.13971"
    assert "Baptiste Rozière" in llama.authors and len(llama.authors) == 14
    assert llama.published == date(2023, 2, 27)
    assert llama.feed_dates == (date(2023, 2, 28),)
    assert llama.upvotes == 11
    assert lora.version == 2 and lora.id == "2106.09685"
    assert "LoRA, which freezes" in lora.abstract and "<b>" not in lora.abstract
    assert mamba.authors == ()  # the item has no authors at all
    assert "(Mamba)" in mamba.abstract and "5× higher" in mamba.abstract


def test_hf_api_bad_items_are_bad_records() -> None:
    result = parse_file(fixture("hf_api/missing_title.json"))
    assert [paper.id for paper in result.papers] == ["2302.13971"]
    assert [(bad.where, bad.reason) for bad in result.bad] == [
        ("record 2", "no title"),
        ("record 4", "expected an object, got a string"),
    ]
    assert len(result.warnings) == 1 and "record 3" in result.warnings[0]
    assert "empty abstract" in result.warnings[0]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("hf_api/broken_syntax.json", "line 149 column 21: not valid JSON"),
        ("hf_api/not_a_list.json", "expected a JSON list of daily-paper items, got an object"),
        ("hf_api/api_error.json", "the API answered with an error: Invalid date format"),
    ],
)
def test_hf_api_unusable_files_raise(name: str, message: str) -> None:
    with pytest.raises(SourceError, match="hf_api/") as caught:
        parse_file(fixture(name), fmt="hf-api")
    assert message in str(caught.value)


# --- arXiv Atom ------------------------------------------------------------------------------


def test_arxiv_feed_parses_entries() -> None:
    result = parse_file(fixture("arxiv/query.xml"))
    assert result.bad == () and result.warnings == ()
    ids = [(paper.id, paper.version) for paper in result.papers]
    assert ids == [("1706.03762", 7), ("1810.04805", 2), ("hep-th/9711200", 3), ("2312.00752", 1)]
    attention, bert, maldacena, mamba = result.papers
    assert attention.source == "arxiv"
    assert attention.url == "https://arxiv.org/abs/1706.03762"
    assert attention.published == date(2017, 6, 12)
    assert attention.categories == ("cs.CL", "cs.LG")
    assert len(attention.authors) == 8 and attention.authors[0] == "Ashish Vaswani"
    assert attention.abstract.startswith(
        "The dominant sequence transduction models are based on complex recurrent or convolutional"
    )
    assert bert.title == "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
    assert maldacena.url == "https://arxiv.org/abs/hep-th/9711200"
    assert "large $N$ limit" in maldacena.abstract
    assert mamba.categories == ("cs.LG", "cs.AI")  # primary first
    assert "5$\\times$ higher" in mamba.abstract and "& beyond" in mamba.abstract


def test_arxiv_bad_entries_are_bad_records() -> None:
    result = parse_file(fixture("arxiv/bad_entries.xml"))
    assert [paper.id for paper in result.papers] == ["1706.03762"]
    assert [bad.where for bad in result.bad] == ["entry 2", "entry 3"]
    assert "not an arXiv abs URL" in result.bad[0].reason
    assert "no title" in result.bad[1].reason


def test_arxiv_broken_xml_names_line_and_column() -> None:
    with pytest.raises(SourceError, match=r"broken\.xml: line 88 column 4: not well-formed XML"):
        parse_file(fixture("arxiv/broken.xml"))


def test_arxiv_error_feed_raises_with_the_api_message() -> None:
    with pytest.raises(SourceError, match="incorrect id format for 1234.12345"):
        parse_file(fixture("arxiv/error.xml"))


def test_arxiv_refuses_entity_expansion() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>&b;</title></feed>'
    )
    with pytest.raises(SourceError, match="unsafe XML"):
        parse_bytes(bomb.encode(), "bomb.xml", fmt="arxiv")


def test_arxiv_empty_feed_is_empty() -> None:
    result = parse_file(fixture("arxiv/empty.xml"))
    assert result.papers == () and result.bad == ()


# --- generic JSON Lines and CSV --------------------------------------------------------------


def test_jsonl_maps_optional_fields() -> None:
    result = parse_file(fixture("jsonl/papers.jsonl"))
    assert result.bad == () and result.warnings == ()
    rag, lora, notes, colbert = result.papers
    assert rag.id == "2005.11401" and rag.source == "jsonl"
    assert rag.published == date(2020, 5, 22)
    assert rag.categories == ("cs.CL", "cs.LG")
    assert rag.feed_dates == (date(2024, 1, 3),)
    assert rag.url == "https://arxiv.org/abs/2005.11401"
    # Keys in any case; id from the URL; "A, B and C" authors.
    assert (lora.id, lora.version) == ("2106.09685", 2)
    assert lora.url == "https://arxiv.org/abs/2106.09685v2"
    assert lora.authors == ("Edward J. Hu", "Yelong Shen", "Phillip Wallis")
    assert lora.published == date(2021, 6, 17)
    # A non-arXiv id falls back to the title's id.
    assert notes.id == title_id(notes.title)
    assert notes.title == "Notes on Sparse Retrieval for Scientific Search"
    assert notes.authors == ("Ada Lovelace", "Charles Babbage")
    assert notes.categories == ("cs.IR", "cs.CL")
    assert notes.upvotes == 3
    assert "on three corpora" in notes.abstract and "p < 0.05" in notes.abstract
    assert colbert.authors == ("Omar Khattab", "Matei Zaharia")
    assert colbert.feed_dates == (date(2024, 1, 3), date(2024, 1, 4))


def test_jsonl_bad_lines_are_bad_records() -> None:
    result = parse_file(fixture("jsonl/broken.jsonl"))
    ids = [paper.id for paper in result.papers]
    assert ids == ["2005.11401", title_id("A Record With A Bad Date"), "2004.12832"]
    reasons = {bad.where: bad.reason for bad in result.bad}
    assert list(reasons) == ["line 2", "line 3", "line 4", "line 5"]
    assert reasons["line 2"].startswith("not valid JSON (")
    assert str(result.bad[0]).endswith("broken.jsonl: line 2: " + reasons["line 2"])
    assert reasons["line 3"] == "expected a JSON object, got a list"
    assert reasons["line 4"] == "no title"
    assert reasons["line 5"] == "title is an object, not text"
    assert any("line 6: empty abstract" in warning for warning in result.warnings)
    assert any("line 7: published 'last Tuesday'" in warning for warning in result.warnings)


def test_duplicates_keep_the_last_and_warn() -> None:
    result = parse_file(fixture("jsonl/duplicates.jsonl"))
    assert [paper.id for paper in result.papers] == ["2106.09685", "2005.11401"]
    assert result.papers[1].abstract.endswith("This is the revised abstract.")
    expected = "line 3: duplicate id 2005.11401 (also at line 1); keeping this one"
    assert result.warnings == (f"{fixture('jsonl/duplicates.jsonl')}: {expected}",)


def test_csv_with_quoted_multiline_fields() -> None:
    result = parse_file(fixture("csv/papers.csv"))
    assert result.bad == () and result.warnings == ()
    dpr, sbert, note = result.papers
    assert (dpr.id, dpr.version, dpr.source) == ("2004.04906", 3, "csv")
    assert dpr.authors == ("Vladimir Karpukhin", "Barlas Oğuz", "Sewon Min")
    assert "BM25, are the de facto method. In this work" in dpr.abstract
    assert dpr.published == date(2020, 4, 10)
    assert sbert.authors == ("Nils Reimers", "Iryna Gurevych")
    assert sbert.categories == ("cs.CL", "cs.LG")
    assert '"that can be compared using cosine-similarity"' in sbert.abstract
    assert note.id == title_id("A Local Note Without An arXiv Id") and note.url == ""


def test_csv_bad_rows_carry_their_line_numbers() -> None:
    result = parse_file(fixture("csv/bad_rows.csv"))
    assert titles(result) == ["Good Row One", "A Row With A Bad Date"]
    assert [(bad.where, bad.reason) for bad in result.bad] == [
        ("line 3", "has 4 fields; the header has 3"),
        ("line 4", "no title"),
    ]
    assert len(result.warnings) == 1 and "line 5" in result.warnings[0]


def test_csv_missing_column_names_the_columns_found() -> None:
    with pytest.raises(SourceError, match="found: 'name', 'description', 'year'"):
        parse_file(fixture("csv/missing_column.csv"), fmt="csv")


def test_csv_with_bom_and_crlf() -> None:
    result = parse_file(fixture("encoding/bom.csv"))
    assert titles(result) == ["Attention Is All You Need"]
    assert result.papers[0].authors == ("Ashish Vaswani", "Noam Shazeer")


# --- SciFact and SciTLDR -------------------------------------------------------------------


def test_scifact_sample_and_broken() -> None:
    good = parse_file(fixture("scifact/corpus_sample.jsonl"))
    assert [paper.id for paper in good.papers] == ["scifact-4983", "scifact-5836", "scifact-7912"]
    assert good.papers[0].source == "scifact" and good.bad == ()
    broken = parse_file(fixture("scifact/broken.jsonl"))
    assert [paper.id for paper in broken.papers] == ["scifact-4983", "scifact-5836"]
    assert (broken.bad[0].where, broken.bad[0].reason) == ("line 2", "no '_id'")
    assert broken.bad[1].where == "line 3" and "not valid JSON" in broken.bad[1].reason


def test_scitldr_sample_makes_missing_titles_from_the_abstract() -> None:
    result = parse_file(fixture("scitldr/sample.jsonl"))
    assert [paper.id for paper in result.papers][:2] == ["scitldr-rJlnfaNYvB", "scitldr-rJVoEiCqKQ"]
    assert result.papers[0].title == "Adaptive Loss Scaling for Mixed Precision Training"
    assert result.papers[0].abstract.startswith("Mixed precision training (MPT) is becoming")
    made_up = result.papers[2]
    assert made_up.title == "Due to the success of deep learning to solving a variety of…"
    assert len(result.warnings) == 2 and "line 3: no title" in result.warnings[0]


def test_scitldr_broken_lines() -> None:
    result = parse_file(fixture("scitldr/broken.jsonl"))
    assert len(result.papers) == 1
    assert [bad.where for bad in result.bad] == ["line 2", "line 3", "line 4"]
    assert result.bad[0].reason == "'source' is a number, not a list of sentences"
    assert result.bad[1].reason == "no 'paper_id'"


@pytest.mark.parametrize(
    ("relative", "count"), [("scifact/corpus.jsonl", 5183), ("scitldr/dev.jsonl", 619), ("scitldr/train.jsonl", 1992)]
)
def test_shared_benchmark_files_parse_cleanly(relative: str, count: int) -> None:
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} not present")
    result = parse_file(path)
    assert len(result.papers) == count
    assert result.bad == ()
    assert {paper.source for paper in result.papers} == {relative.split("/")[0]}


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
