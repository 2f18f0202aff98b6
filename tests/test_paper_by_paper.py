"""Fact questions naming two or more papers: one call per paper on its own passage, the lines assembled in
code. Real sample library (MiniLM + Chroma + FTS5), scripted model replies."""

from __future__ import annotations

import re
from collections.abc import Iterator

from service.ask import Answer, AskOptions, Sources, Token, ask, ask_stream
from service.ask_records import ABSTENTION
from service.paper_by_paper import NOT_ANSWERED, label_for, question_about
from tests.test_ask import ScriptedGenerator

DATASETS = "Which datasets do both neU-Net and WAU report results on?"
NEU_NET = "More complex encoder is not all you need"
WAU = "More than Encoder: Introducing Transformer Decoder to Upsample"
REPLIES = {
    NEU_NET: "neU-Net surpasses other methods on the Synapse and ACDC datasets [1].",
    WAU: "WAU is evaluated on Synapse, MSD Brain and ACDC [1].",
}


def titles_read(messages) -> list[str]:
    return re.findall(r"Title: (.*)", messages[-1]["content"])


def by_title(replies: dict[str, str]):
    """A reply chosen by the one paper the prompt shows (a fragment of its title is enough)."""
    def reply(messages) -> str:
        [title] = titles_read(messages)
        return next(text for start, text in replies.items() if title.startswith(start))
    return reply


class CharGenerator(ScriptedGenerator):
    """Streams its reply a character at a time, so markers arrive split: "[", "1", "]"."""

    def stream(self, messages, *, max_new_tokens=256, stop=()) -> Iterator[str]:
        self.calls.append(messages)
        yield from self.reply(messages)


def test_each_named_paper_is_answered_from_its_own_passage_and_cites_only_itself(sample_library):
    generator = ScriptedGenerator(by_title(REPLIES))
    result = ask(sample_library, generator, DATASETS, options=AskOptions(quote="none"))
    assert [titles_read(call) for call in generator.calls] == [[NEU_NET], [WAU]]
    assert result.text.splitlines() == [
        "neU-Net: neU-Net surpasses other methods on the Synapse and ACDC datasets [1].",
        "WAU: WAU is evaluated on Synapse, MSD Brain and ACDC [2].",
    ]
    assert [(c.number, c.title) for c in result.citations] == [(1, NEU_NET), (2, WAU)]
    assert [p.paper.title for p in result.retrieval.passages] == [NEU_NET, WAU]
    assert not result.abstained and result.kind == "fact"


def test_the_stream_shows_the_markers_the_answer_ends_with(sample_library):
    events = list(ask_stream(sample_library, CharGenerator(by_title(REPLIES)), DATASETS,
                             options=AskOptions(quote="none")))
    assert isinstance(events[0], Sources) and isinstance(events[-1], Answer)
    streamed = "".join(event.text for event in events if isinstance(event, Token))
    assert streamed == events[-1].result.text and "[2]" in streamed


def test_a_part_stating_another_papers_fact_says_its_abstract_doesnt_answer(sample_library):
    borrowed = {NEU_NET: REPLIES[NEU_NET], WAU: "WAU uses a Sub-pixel Convolution for upsampling [1]."}
    result = ask(sample_library, ScriptedGenerator(by_title(borrowed)), DATASETS, options=AskOptions(quote="none"))
    assert result.text.splitlines() == [f"neU-Net: {REPLIES[NEU_NET]}", f"WAU: {NOT_ANSWERED}"]
    assert [c.title for c in result.citations] == [NEU_NET]
    assert any(note.startswith("WAU: ") and "Sub-pixel" in note for note in result.notes)


def test_a_both_sentence_is_not_left_standing_on_one_papers_citation(sample_library):
    both = {NEU_NET: "Both neU-Net and WAU report results on Synapse and ACDC [1].", WAU: REPLIES[WAU]}
    result = ask(sample_library, ScriptedGenerator(by_title(both)), DATASETS, options=AskOptions(quote="none"))
    assert result.text.splitlines()[0] == f"neU-Net: {NOT_ANSWERED}"
    assert [c.title for c in result.citations] == [WAU]


def test_no_part_answered_is_one_abstention(sample_library):
    result = ask(sample_library, ScriptedGenerator("NOT IN THE PAPERS"), DATASETS, options=AskOptions(quote="none"))
    assert result.abstained and result.text == ABSTENTION and result.citations == ()


def test_the_default_quotes_each_papers_answering_sentence_under_its_own_line(sample_library):
    result = ask(sample_library, ScriptedGenerator(by_title(REPLIES)), DATASETS)
    first, second = result.text.splitlines()
    assert first.startswith("neU-Net: ") and "[2]" not in first
    assert second.startswith("WAU: ") and "[1]" not in second
    assert {c.number: c.title for c in result.citations} == {1: NEU_NET, 2: WAU}


def test_quote_only_answers_each_paper_without_the_model(sample_library):
    generator = ScriptedGenerator("unused")
    result = ask(sample_library, generator, "How much faster at inference are OWSM-CTC and Uni-Encoder?",
                 options=AskOptions(quote="only"))
    assert generator.calls == [] and not result.abstained
    owsm, uni = result.text.splitlines()
    assert owsm.startswith("OWSM-CTC: From the paper: “") and "3 to 4 times faster" in owsm and owsm.endswith("[1]")
    assert uni.startswith("Uni-Encoder: ") and uni.endswith(("[2]", NOT_ANSWERED))


def test_a_question_naming_one_paper_is_answered_in_one_call(sample_library):
    generator = ScriptedGenerator(by_title(REPLIES))
    result = ask(sample_library, generator, "Which datasets does neU-Net report results on?",
                 options=AskOptions(quote="none"))
    assert len(generator.calls) == 1 and result.text == REPLIES[NEU_NET]


def test_each_paper_is_asked_the_question_about_itself_alone():
    names = ["neU-Net", "WAU"]
    assert question_about(DATASETS, "WAU", names) == "Which datasets do WAU report results on?"
    assert question_about(DATASETS, "neU-Net", names) == "Which datasets do neU-Net report results on?"
    two = "How long does MosaicBERT take to pretrain, and how much does the latency adjustable encoder speed up BERTbase?"
    assert question_about(two, "MosaicBERT", ["MosaicBERT", "BERTbase"]) == "How long does MosaicBERT take to pretrain?"
    assert question_about(two, "BERTbase", ["MosaicBERT", "BERTbase"]) == (
        "How much does the latency adjustable encoder speed up BERTbase?")
    assert question_about("Compare EVE, ENEL and JPQ on data", "ENEL", ["EVE", "ENEL", "JPQ"]) == "Compare ENEL on data"
    listed = ("What speed gains do Faster Diffusion report for DeepFloyd-IF sampling, M2-Encoder report in training "
              "speed from grouped aggregation, and TracksTo4D report in runtime reduction?")
    names = ["Faster Diffusion", "M2-Encoder", "TracksTo4D"]
    assert question_about(listed, "M2-Encoder", names) == (
        "What speed gains do M2-Encoder report in training speed from grouped aggregation?")
    crowd = ("On how many crowd counting datasets are M-SFANet and M-SegNet evaluated, and on which benchmarks does "
             "MEDUSA obtain state-of-the-art performance?")
    assert question_about(crowd, "M-SFANet", ["M-SFANet", "MEDUSA"]) == (
        "On how many crowd counting datasets are M-SFANet and M-SegNet evaluated?")
    assert question_about(crowd, "MEDUSA", ["M-SFANet", "MEDUSA"]) == (
        "On which benchmarks does MEDUSA obtain state-of-the-art performance?")
    spelled = "Which datasets are neU-Net, WAU (Window Attention Upsample), and ParaTransCNN evaluated on?"
    assert question_about(spelled, "ParaTransCNN", ["neU-Net", "WAU", "ParaTransCNN"]) == (
        "Which datasets are ParaTransCNN evaluated on?")
    assert question_about("How many datasets are Uni-Encoder and JPQ each evaluated on?", "JPQ",
                          ["Uni-Encoder", "JPQ"]) == "How many datasets are JPQ evaluated on?"
    sizes = "What are the model sizes of the ENEL model and of the largest M2-Encoder model?"
    assert question_about(sizes, "ENEL", ["ENEL", "M2-Encoder"]) == "What are the model sizes of the ENEL model?"
    assert question_about(sizes, "M2-Encoder", ["ENEL", "M2-Encoder"]) == (
        "What are the model sizes of the largest M2-Encoder model?")
    took = "How long does pretraining take for MosaicBERT and for LXMERT?"
    assert question_about(took, "LXMERT", ["MosaicBERT", "LXMERT"]) == "How long does pretraining take for LXMERT?"
    hedged = "How much faster is Uni-Encoder, and by up to how much does the Latency Adjustable Transformer Encoder cut it?"
    assert question_about(hedged, "Latency Adjustable Transformer Encoder", ["Uni-Encoder", "Latency Adjustable "
                          "Transformer Encoder"]) == "By up to how much does the Latency Adjustable Transformer Encoder cut it?"
    assert question_about("What accuracy drop do the EVE and the JPQ report?", "JPQ", ["EVE", "JPQ"]) == (
        "What accuracy drop do the JPQ report?")
    spelled_own = "Which datasets are neU-Net, WAU (Window Attention Upsample), and ParaTransCNN evaluated on?"
    assert question_about(spelled_own, "WAU", ["neU-Net", "WAU", "ParaTransCNN"]) == "Which datasets are WAU evaluated on?"


def test_a_line_is_headed_by_the_papers_name_not_by_any_word_that_identified_it(sample_library):
    papers = {paper.title.split(":")[0]: paper for paper in sample_library.papers()}
    assert label_for("MosaicBERT", papers["MosaicBERT"]) == "MosaicBERT"
    assert label_for("WAU", papers["More than Encoder"]) == "WAU"  # the title's head is no name
    jpq = next(p for p in sample_library.papers() if p.title.startswith("Jointly Optimizing Query Encoder"))
    assert label_for("JPQ", jpq) == "JPQ"
    assert label_for("CPU", jpq) == "Jointly Optimizing Query Encoder…"


def test_a_paper_named_twice_is_asked_about_under_its_own_name(sample_library):
    generator = ScriptedGenerator(lambda messages: "NOT IN THE PAPERS")
    ask(sample_library, generator, "What zero-shot top-1 ImageNet accuracy do M2-Encoder and EVE report?",
        options=AskOptions(quote="none"))
    asked = [re.search(r"Question: (.*)", call[-1]["content"]).group(1) for call in generator.calls]
    assert asked == ["What zero-shot top-1 ImageNet accuracy do M2-Encoder report?",
                     "What zero-shot top-1 ImageNet accuracy do EVE report?"]


def test_a_word_only_one_abstract_holds_is_no_second_named_paper(sample_library):
    # "GPUs" is in MosaicBERT's abstract alone, but the question is about LXMERT only
    generator = ScriptedGenerator(by_title(REPLIES))
    result = ask(sample_library, generator, "How many GPUs were used to pre-train LXMERT?")
    assert generator.calls == [] and result.abstained and "\n" not in result.text


def test_a_named_paper_gets_its_passage_however_far_the_question_embeds_from_it(sample_library):
    sizes = "What are the model sizes of the ENEL model and of the largest M2-Encoder model?"
    generator = ScriptedGenerator("NOT IN THE PAPERS")
    ask(sample_library, generator, sizes, options=AskOptions(quote="none"))
    read = [title for call in generator.calls for title in titles_read(call)]
    assert [title.split(":")[0][:24] for title in read] == ["Exploring the Potential ", "M2-Encoder"]


def test_one_named_paper_gets_its_passage_however_far_the_question_embeds_from_it(sample_library):
    generator = ScriptedGenerator("NOT IN THE PAPERS")
    result = ask(sample_library, generator, "how big is ENEL in parameters?", options=AskOptions(quote="none"))
    assert [title.split(":")[0][:24] for title in titles_read(generator.calls[0])] == ["Exploring the Potential "]
    assert result.kind == "fact"  # asked of ENEL's passage, not declined as out of scope before the model
    assert ask(sample_library, generator, "how big is GPT-4 in parameters?").kind == "out_of_scope"  # no such paper


def test_a_named_papers_passage_holds_its_best_sentences_from_the_whole_abstract(sample_library):
    generator = ScriptedGenerator("NOT IN THE PAPERS")
    ask(sample_library, generator, "How many pre-training tasks does LXMERT use, and how many pre/post-nets does "
                                   "SpeechT5 have?", options=AskOptions(quote="none"))
    lxmert = next(call[-1]["content"] for call in generator.calls if "Title: LXMERT" in call[-1]["content"])
    assert "five diverse representative pre-training tasks" in lxmert  # not in the chunk most like the question
    assert "github" not in lxmert.lower()
    alone = ScriptedGenerator("NOT IN THE PAPERS")
    ask(sample_library, alone, "How many pre-training tasks does LXMERT use?", options=AskOptions(quote="none"))
    assert "five diverse representative pre-training tasks" in alone.calls[0][-1]["content"]  # one paper named too
    neu_net = ScriptedGenerator("NOT IN THE PAPERS")
    ask(sample_library, neu_net, DATASETS, options=AskOptions(quote="none"))
    assert "introduce neU-Net" in neu_net.calls[0][-1]["content"]  # where it names itself; the title doesn't
    described = ScriptedGenerator("NOT IN THE PAPERS")  # a paper described, not named: its best sentences too
    ask(sample_library, described, "How many fine-tuned Turkish models did the Turkish language understanding "
                                   "study release?", options=AskOptions(quote="none"))
    assert "these four fine-tuned models" in described.calls[0][-1]["content"]


def test_a_paper_called_by_what_it_is_about_is_answered_in_its_own_line(sample_library):
    question = ("How do the mutual encoder-decoder inpainting method and ParaTransCNN pass encoder-side features "
                "to the decoder?")
    generator = ScriptedGenerator("NOT IN THE PAPERS")
    result = ask(sample_library, generator, question, options=AskOptions(quote="none"))
    read = [titles_read(call) for call in generator.calls]
    assert [[title[:24] for title in titles] for titles in read] == [["Rethinking Image Inpaint"],
                                                                     ["ParaTransCNN: Paralleliz"]]
    assert result.text.startswith("Rethinking Image Inpainting") or result.abstained
    # words that describe no paper in particular resolve nothing: one paper, one call
    alone = ScriptedGenerator("NOT IN THE PAPERS")
    ask(sample_library, alone, "What does the proposed model of ParaTransCNN merge with channel attention?",
        options=AskOptions(quote="none"))
    assert [titles_read(call) for call in alone.calls] == [[titles_read(alone.calls[0])[0]]]
    assert titles_read(alone.calls[0])[0].startswith("ParaTransCNN")
