"""Foundation tests on real components: real MiniLM, real Chroma (embedded), real SQLite."""

from __future__ import annotations

import json
from datetime import date

import pytest

from index.catalog import Catalog
from index.chunking import Chunker
from index.models import Paper
from index.sources import parse_file
from index.text import split_sentences
from service.library import BadInputError
from service.search import SearchFilter, reciprocal_rank_fusion, zscore_fusion
from tests.conftest import SAMPLE_PAGE

RHYMING = "Encoder-Decoder Framework for Interactive Free Verses with Generation with Controllable High-Quality Rhyming"
JPQ = "Jointly Optimizing Query Encoder and Product Quantization to Improve Retrieval Performance"
FASTER_DIFFUSION = "Faster Diffusion: Rethinking the Role of UNet Encoder in Diffusion Models"


def arxiv_paper(version: int, abstract: str, day: date | None = None) -> Paper:
    return Paper(
        id="2401.00001", title="A Study of Widgets", abstract=abstract, source="arxiv", version=version,
        feed_dates=(day,) if day else (), url="https://arxiv.org/abs/2401.00001",
    )


def write_jsonl(path, records) -> str:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return str(path)


# --- chunking -------------------------------------------------------------------------------
def test_chunks_fit_the_embedder_and_point_at_exact_sentences(minilm):
    chunker = Chunker(minilm.count_tokens, 256, 48)
    for paper in parse_file(SAMPLE_PAGE).papers:
        chunks = chunker.chunk(paper)
        spans = split_sentences(paper.abstract)
        assert [c.id for c in chunks] == [f"{paper.id}#{n}" for n in range(len(chunks))]
        covered = set()
        for chunk in chunks:
            assert max(minilm.count_tokens([chunk.embed_text])) <= 256
            assert chunk.embed_text.startswith(paper.title)
            assert paper.abstract[chunk.char_start : chunk.char_end] == chunk.text
            assert chunk.char_start == spans[chunk.sent_start][0]
            assert chunk.char_end == spans[chunk.sent_end - 1][1]
            covered.update(range(chunk.sent_start, chunk.sent_end))
        assert covered == set(range(len(spans))), "every sentence is in some chunk"


def test_a_sentence_longer_than_a_chunk_is_split_inside_it(minilm):
    long_sentence = " ".join(f"word{i}" for i in range(400)) + "."
    paper = Paper(id="x", title="Long", abstract=f"Short start. {long_sentence} Short end.", source="jsonl")
    chunks = Chunker(minilm.count_tokens, 128, 16).chunk(paper)
    assert len(chunks) > 2
    assert all(max(minilm.count_tokens([c.embed_text])) <= 128 for c in chunks)
    assert all(paper.abstract[c.char_start : c.char_end] == c.text for c in chunks)


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "a"]], k=60)
    assert [key for key, _ in fused][0] == "b"
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_zscore_fusion_keeps_score_gaps_and_floors_missing_keys():
    dense = {"a": 0.9, "b": 0.5, "c": 0.4}  # "a" far ahead
    bm25 = {"b": 12.0, "c": 11.0, "d": 10.0}  # "a" not returned: it gets BM25's floor
    fused = dict(zscore_fusion([dense, bm25], [0.5, 0.5]))
    assert max(fused, key=fused.get) == "b"
    assert fused["a"] > fused["d"]
    assert [key for key, _ in zscore_fusion([dense, {}], [0.5, 0.5])] == ["a", "b", "c"]  # an empty run is skipped


def test_document_frequencies_come_from_the_fts_vocabulary_as_fts5_stems(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    texts = ["Cells grow quickly.", "The cell divided.", "Running mice.", "A café study of cells."]
    with catalog.transaction():
        for n, text in enumerate(texts):
            paper = Paper(id=f"p{n}", title=f"Paper {n}", abstract=text, source="jsonl")
            catalog.merge(paper, Chunker(lambda batch: [len(t.split()) for t in batch], 64, 0).chunk(paper), [])
    frequencies = catalog.term_document_frequency(["cells", "running", "cafe", "café", "absent"])
    counted = {term: catalog._db.execute("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?",
                                         (f'"{term}"',)).fetchone()[0] for term in frequencies}
    assert frequencies == counted == {"cells": 3, "running": 1, "cafe": 1, "café": 1, "absent": 0}


def test_bm25_drops_very_common_words_only_in_a_large_store(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite", common_term_min_chunks=10)
    with catalog.transaction():
        for n in range(20):
            abstract = "Cells respond." if n else "Cells respond to zebrafish signals."
            paper = Paper(id=f"p{n}", title=f"Paper {n}", abstract=abstract, source="jsonl")
            catalog.merge(paper, Chunker(lambda batch: [len(t.split()) for t in batch], 64, 0).chunk(paper), [])
    small = Catalog(tmp_path / "catalog.sqlite", common_term_min_chunks=21)
    assert len(small.bm25("cells zebrafish", 50)) == 20  # under the size limit every word counts
    assert [cid for cid, _ in catalog.bm25("cells zebrafish", 50)] == ["p0#0"]
    assert len(catalog.bm25("cells respond", 50)) == 20  # all common: the rarest word stays


# --- ingest and identity ----------------------------------------------------------------------
def test_ingesting_the_sample_twice_keeps_30_papers(library):
    first = library.ingest([parse_file(SAMPLE_PAGE)]).report
    assert (first.papers, first.new) == (30, 30)
    chunks = library.catalog.chunk_count()
    second = library.ingest([parse_file(SAMPLE_PAGE)]).report
    assert (second.papers, second.new, second.updated, second.unchanged) == (30, 0, 0, 30)
    assert len(library.papers()) == 30
    assert library.catalog.chunk_count() == chunks == library.vectors.count()
    assert [p.title for p in library.papers((date.today(), date.today()))][0].startswith("Exploring the Potential")


def test_a_new_version_replaces_the_old_and_dates_accumulate(library):
    library.ingest([_result(arxiv_paper(1, "Old abstract about widgets. It has two sentences."))],
                   feed_date=date(2026, 11, 20))
    old_chunks = set(library.catalog.get_chunks(["2401.00001#0"]))
    outcome = library.ingest([_result(arxiv_paper(2, "A new abstract about gadgets instead."))],
                             feed_date=date(2026, 11, 21))
    assert outcome.report.updated == 1
    paper = library.paper("2401.00001")
    assert paper.version == 2 and "gadgets" in paper.abstract
    assert paper.feed_dates == (date(2026, 11, 20), date(2026, 11, 21))
    assert library.vectors.count() == library.catalog.chunk_count() == 1
    assert old_chunks == {"2401.00001#0"}
    hits = library.search("gadgets", k=1)
    assert hits[0].chunks[0].text == "A new abstract about gadgets instead."
    # An older version arriving later changes nothing but the feed dates.
    stale = library.ingest([_result(arxiv_paper(1, "Old abstract about widgets."))], feed_date=date(2026, 11, 22))
    assert stale.report.unchanged == 1 and "gadgets" in library.paper("2401.00001").abstract
    assert len(library.paper("2401.00001").feed_dates) == 3


def test_a_title_only_paper_adopts_its_arxiv_id_later(library):
    title_only = Paper(id="t-1", title="A Study of Widgets!", abstract="We study widgets.", source="hf-page",
                       feed_dates=(date(2026, 11, 1),))
    from index.models import title_id

    title_only = Paper(**{**title_only.__dict__, "id": title_id(title_only.title)})
    library.ingest([_result(title_only)])
    library.ingest([_result(arxiv_paper(1, "We study widgets.", date(2026, 11, 2)))])
    assert [p.id for p in library.papers()] == ["2401.00001"]
    assert library.paper("2401.00001").feed_dates == (date(2026, 11, 1), date(2026, 11, 2))
    # ...and the title-only record seen again merges into it instead of duplicating.
    library.ingest([_result(title_only)])
    assert [p.id for p in library.papers()] == ["2401.00001"]
    assert library.vectors.count() == library.catalog.chunk_count()


def test_bad_records_store_nothing_unless_skipped(library, tmp_path):
    good = {"title": "Good paper", "abstract": "A fine abstract."}
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(good) + "\n{not json\n" + json.dumps({"abstract": "no title"}) + "\n")
    library.ingest([_result(arxiv_paper(1, "Kept from before."))])
    with pytest.raises(BadInputError) as error:
        library.ingest([parse_file(path)])
    assert "mixed.jsonl" in str(error.value) and "line 2" in str(error.value)
    assert [p.id for p in library.papers()] == ["2401.00001"], "nothing stored, nothing lost"
    outcome = library.ingest([parse_file(path)], skip_bad=True)
    assert outcome.report.new == 1 and len(outcome.skipped) == 2
    assert len(library.papers()) == 2


def test_remove_deletes_chunks_and_vectors(library):
    library.ingest([parse_file(SAMPLE_PAGE)])
    victim = library.search("rhyming lyrics", k=1)[0].paper.id
    assert library.remove([victim]) == 1
    assert library.paper(victim) is None
    assert library.vectors.count() == library.catalog.chunk_count()
    assert all(hit.paper.id != victim for hit in library.search("rhyming lyrics", k=5))


def test_reindex_rechunks_after_a_chunk_size_change(settings, minilm):
    from index.pipeline import EmbedderMismatch
    from service.library import Library

    with_default = Library(settings, embedder=minilm)
    with_default.ingest([parse_file(SAMPLE_PAGE)])
    before = with_default.catalog.chunk_count()
    with_default.close()

    smaller = Library(settings.model_copy(update={"chunk_tokens": 96, "chunk_overlap_tokens": 0}), embedder=minilm)
    with pytest.raises(EmbedderMismatch, match="reindex"):
        smaller.search("rhyming lyrics", k=1)
    smaller.reindex()
    after = smaller.catalog.chunk_count()
    assert after > before
    assert smaller.vectors.count() == after
    chunks = smaller.catalog.get_chunks([f"{paper.id}#0" for paper in smaller.papers()])
    assert all(minilm.count_tokens([chunk.embed_text])[0] <= 96 for chunk in chunks.values())
    assert smaller.search("rhyming lyrics generation with pretrained language models", k=1)[0].paper.title == RHYMING
    smaller.close()


# --- search ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("rhyming lyrics generation with pretrained language models", RHYMING),
        ("compressing a dense retrieval index with product quantization", JPQ),
        ("speeding up diffusion sampling", FASTER_DIFFUSION),
    ],
)
def test_hybrid_search_puts_the_right_paper_first(sample_library, query, title):
    hits = sample_library.search(query, k=5)
    assert hits[0].paper.title == title
    assert hits[0].sentences, "matching sentences come with the hit"
    for sentence in hits[0].sentences:
        assert hits[0].paper.abstract[sentence.char_start : sentence.char_end] == sentence.text


@pytest.mark.parametrize("mode", ["dense", "bm25"])
def test_single_ranker_modes_work(sample_library, mode):
    hits = sample_library.search("product quantization for dense retrieval", k=3, mode=mode)
    assert hits[0].paper.title == JPQ
    assert hits[0].dense_rank if mode == "dense" else hits[0].bm25_rank


def test_filters_by_feed_date_and_source(sample_library):
    today = date.today()
    assert len(sample_library.search("encoder", k=50, filters=SearchFilter((today, today)))) == 30
    assert sample_library.search("encoder", filters=SearchFilter((date(2001, 1, 1), date(2001, 1, 2)))) == []
    assert sample_library.search("encoder", filters=SearchFilter(sources=("arxiv",))) == []
    assert len(sample_library.search("encoder", k=3, filters=SearchFilter(sources=("hf-page",)))) == 3


def _result(*papers):
    from index.models import ParseResult

    return ParseResult(papers=tuple(papers))


def test_the_newest_feed_day_is_read_without_the_papers(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    assert catalog.newest_feed_day() is None
    chunker = Chunker(lambda batch: [len(t.split()) for t in batch], 64, 0)
    with catalog.transaction():
        for n, (source, day) in enumerate([("hf-page", date(2026, 12, 1)), ("arxiv", date(2026, 12, 3)),
                                           ("hf-page", date(2026, 11, 30))]):
            paper = Paper(id=f"p{n}", title=f"Paper {n}", abstract="Cells grow.", source=source)
            catalog.merge(paper, chunker.chunk(paper), [day])
    assert catalog.newest_feed_day() == date(2026, 12, 3)
    assert catalog.newest_feed_day(["hf-page"]) == date(2026, 12, 1)
    assert catalog.newest_feed_day(["csv"]) is None
