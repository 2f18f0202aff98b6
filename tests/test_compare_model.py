"""Model tier for compare and digest labels: the real bundled model on sample papers (a couple of minutes)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from index.sources import parse_file
from index.text import sentences
from service.cache import OutputCache
from service.compare import FIELDS, check_summary, code_summary, compare_papers
from service.digest import label_groups
from service.engines.factory import shared_generator
from service.engines.protocol import writes_comparisons
from service.settings import Settings

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[1]
HOME = Path(os.environ.get("PAPERBRIEF_TEST_HOME", REPO / ".paperbrief" / "test-cache"))
SAMPLE = {paper.title.split(":")[0]: paper for paper in parse_file(REPO / "samples" / "hf-daily-papers-encoder.txt").papers}


@pytest.fixture(scope="module")
def generator():
    return shared_generator(Settings(home=HOME, generator="bundled", generator_base_url=None))


@pytest.fixture
def cache(tmp_path):
    store = OutputCache(tmp_path / "outputs.sqlite")  # empty: the model really runs
    yield store
    store.close()


def test_compare_three_sample_papers(generator, cache):
    papers = [SAMPLE["ParaTransCNN"], SAMPLE["MEDUSA"], SAMPLE["MosaicBERT"]]
    started = time.perf_counter()
    comparison = compare_papers(papers, generator, cache)
    print(f"\n3-paper compare: {time.perf_counter() - started:.1f} s")
    for row in comparison.table.rows:
        print(row.letter, row.name, [(c.origin, c.sentence_index, c.text) for c in row.cells])
    print(comparison.summary_origin, comparison.summary)
    rows = comparison.table.rows
    assert [row.paper.id for row in rows] == [p.id for p in papers]
    for row in rows:
        abstract_sentences = sentences(row.paper.abstract)
        for cell in row.cells:
            assert cell.text.strip()
            assert cell.origin == "none" or 0 <= cell.sentence_index < len(abstract_sentences)
    model_cells = sum(cell.origin == "model" for row in rows for cell in row.cells)
    assert model_cells >= len(rows) * len(FIELDS) // 2, "most cells should be the model's supported phrases"
    assert comparison.summary.strip()
    if comparison.summary_origin == "model":
        assert check_summary(comparison.summary, comparison.table) == comparison.summary
    if not writes_comparisons(generator):  # the bundled 0.5B model: code writes the summary unasked
        assert (comparison.summary_origin, comparison.summary) == ("code", code_summary(comparison.table))
    again = compare_papers(papers, generator, cache)  # everything cached now: no generation
    assert again == comparison


def test_topic_label_for_a_group_of_titles(generator):
    medical = [SAMPLE["ParaTransCNN"], SAMPLE["MEDUSA"]]
    speech = [SAMPLE["SpeechT5"], SAMPLE["OWSM-CTC"]]
    started = time.perf_counter()
    labels = label_groups([medical, speech], generator)
    print(f"\nlabels: {labels} in {time.perf_counter() - started:.1f} s")
    assert labels[0][0] and labels[1][0] and labels[0][0].lower() != labels[1][0].lower()
    assert labels[0][1] == "model" and "medical" in labels[0][0].lower()
