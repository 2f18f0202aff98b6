"""Compare questions over a topic ("Compare the medical image segmentation papers"): the topic's papers are
listed as for a list question, then compared; with fewer than two, the answer says so. Real MiniLM and Chroma
over the sample day; the model is a fake that states nothing in the table (its cells fall back to the
abstracts) and has no scores (borderline papers are judged by the cosine line)."""

from __future__ import annotations

import re

import pytest

from service.ask import Token, ask, ask_stream
from service.question_kinds import COMPARE
from service.topic_compare import TOPIC_LIMIT, compared_topic


class _SilentExtractor:
    name = "silent"

    def __init__(self):
        self.requests = 0

    def generate(self, batch, *, max_new_tokens=256, stop=()):
        self.requests += len(batch)
        return ["Problem: not stated\nMethod: not stated\nData: not stated\nKey result: not stated"] * len(batch)

    def stream(self, messages, *, max_new_tokens=256, stop=()):
        yield from self.generate([messages])

    def count_tokens(self, text: str) -> int:
        return len(text.split())


@pytest.mark.parametrize(("question", "found"), [
    ("Compare the medical image segmentation papers.", ("medical image segmentation", 0)),
    ("How do the retrieval papers differ?", ("retrieval", 0)),
    ("What are the differences between the encoder-free papers?", ("encoder-free", 0)),
    ("Compare the papers on 3D.", ("3D", 0)),  # nothing before the set's noun: what follows names it
    ("Compare the speech papers on model size.", ("speech", 0)),  # named before it: what follows is asked
    ("How do the two speech papers differ?", ("speech", 2)),
    ("How do today's vision-language models differ in how they fuse modalities?", ("vision-language", 0)),
    ("The speech papers: how do they differ?", ("speech", 0)),
    ("Compare the latest speech papers", ("speech", 0)),
    ("Compare the papers about diffusion models", ("diffusion", 0)),
    ("speech papers - architecture differences?", ("speech", 0)),
    ("the papers that drop the vision encoder — how do their training tricks compare?", ("drop the vision encoder", 0)),
    ("Please provide a comparative summary of the papers concerned with dense retrieval, with attention to speed.",
     ("dense retrieval", 0)),
])
def test_a_compare_question_over_a_set_of_papers_names_its_topic(question, found):
    assert compared_topic(question) == found


@pytest.mark.parametrize("question", [
    "Compare ParaTransCNN and MEDUSA",  # named papers
    "How do MosaicBERT and M2-Encoder each make pretraining faster?",
    "Compare today's papers",  # no topic: every paper of the day
    "Compare these papers",
    "Two of today's segmentation papers say the decoder is the bottleneck. How do their upsampling approaches differ?",
])
def test_a_compare_question_over_named_or_unnamed_papers_has_no_topic(question):
    assert compared_topic(question) is None


def test_a_topic_compare_compares_the_papers_the_topic_lists(sample_library):
    question = "Compare the medical image segmentation papers."
    model = _SilentExtractor()
    events = list(ask_stream(sample_library, model, question))
    result = events[-1].result
    titles = {c.title for c in result.citations}
    assert result.kind == COMPARE and not result.abstained and result.comparison is not None
    assert {"ParaTransCNN: Parallelized TransCNN Encoder for Medical Image Segmentation",
            "More than Encoder: Introducing Transformer Decoder to Upsample"} <= titles
    assert not any("Speech" in title or "Diffusion" in title for title in titles)
    assert re.match(r"The papers of \d{4}-\d\d-\d\d about medical image segmentation, compared:\n", result.text)
    assert result.text == "".join(event.text for event in events if isinstance(event, Token))
    assert len(result.comparison.table.rows) == len(titles) <= TOPIC_LIMIT and model.requests >= len(titles)


def test_a_topic_compare_takes_as_many_papers_as_asked(sample_library):
    result = ask(sample_library, _SilentExtractor(), "Compare the two 3D papers.")
    assert len(result.citations) == 2 and len(result.comparison.table.rows) == 2
    assert ", the 2 first of the " in result.text.splitlines()[0]


def test_a_topic_with_one_paper_or_none_says_there_is_nothing_to_compare(sample_library):
    one = ask(sample_library, _SilentExtractor(), "How do the crowd counting papers differ?")
    assert one.kind == COMPARE and not one.abstained and one.comparison is None
    assert re.match(r"Only one paper of \S+ is about crowd counting, so there is nothing to compare it with:\n1\. ",
                    one.text)
    assert [c.title for c in one.citations] == [
        "Encoder-Decoder Based Convolutional Neural Networks with Multi-Scale-Aware Modules for Crowd Counting"]
    model = _SilentExtractor()
    none = ask(sample_library, model, "Compare the protein folding papers.")
    assert re.fullmatch(r"None of the papers of \S+ is about protein folding\.", none.text) and none.citations == ()
    assert model.requests == 0


def test_a_set_named_in_a_sentence_before_the_comparison_is_looked_back_for_only_when_asked():
    question = "A few papers today deal with dense retrieval. How do their solutions compare?"
    assert compared_topic(question) is None  # first, the papers the question's parts name by search
    assert compared_topic(question, look_back=True) == ("dense retrieval", 0)
    assert compared_topic("Speech is hard. How do MosaicBERT and EVE compare?", look_back=True) is None
