"""The record-file parsers: generic JSON Lines and CSV, and the SciFact and SciTLDR datasets (fixtures and,
where present, the shared benchmark files)."""

from __future__ import annotations

from datetime import date

import pytest

from index.models import title_id
from index.sources import SourceError, parse_file
from tests.sources_support import SHARED_DATA, fixture, titles

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
