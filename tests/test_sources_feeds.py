"""The feed parsers: the Hugging Face daily page (the real one and quirky fixtures), the Hugging Face
daily-papers API and arXiv Atom, each with its bad records and unusable files."""

from __future__ import annotations

from datetime import date

import pytest

from index.models import title_id
from index.sources import SourceError, detect_format, parse_bytes, parse_file
from tests.sources_support import SHARED_DATA, fixture, titles

DAILY_PAGE = SHARED_DATA / "daily" / "hf-daily-papers-encoder.txt"


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
