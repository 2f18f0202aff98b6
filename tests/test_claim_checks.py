"""Claim checks beyond the citation markers, on crafted model outputs: a sentence that states another
paper's fact, one that says "both" with one citation, one with a number its paper never states, a gain
stated as a score."""

from __future__ import annotations

from dataclasses import replace

import pytest

from index.models import Paper
from index.text import sentences
from service.answer_quote import (
    QUOTE_AFTER_RESTATEMENT_MIN,
    QUOTE_ALONE_MIN,
    RESTATED_WORDS_SAID,
    Quote,
    answering_sentence,
    with_quote,
)
from service.ask import AskOptions, Token, ask_stream, retrieve, with_best_sentences
from service.ask_records import RESTATED, Retrieval
from service.citations import Passage, SourceSentence, check_answer
from service.compare import FIELDS, ComparisonTable, Row, check_summary
from service.compare_cells import Cell, extractive_cell, of_its_field, trace_cell
from service.fact_generation import NO_SUPPORT, finish
from service.figure_roles import CHANGE, LEVEL, figure_in_another_role, percent_roles
from service.restatement import only_restates
from service.subject_binding import rightful_subject

EVE = ("EVE", "We launch EVE, an encoder-free vision-language model. EVE is trained with only 35M publicly "
              "accessible data. EVE rivals encoder-based VLMs of similar capacity.")
ENEL = ("ENEL", "We present ENEL, the first encoder-free 3D LMM. Our 7B model achieves 55.0%, 50.92% and 42.7% "
                "on the classification, captioning and VQA tasks.")


def passage(number: int, title: str, abstract: str) -> Passage:
    paper = Paper(id=f"p{number}", title=title, abstract=abstract, source="jsonl")
    return Passage(number, paper, f"p{number}#0", tuple(SourceSentence(i, t) for i, t in enumerate(sentences(abstract))),
                   0.5)


@pytest.fixture
def both() -> list[Passage]:
    return [passage(1, *EVE), passage(2, *ENEL)]


def test_a_fact_of_one_paper_said_of_another_is_removed_with_a_note(both):
    checked = check_answer("EVE is trained with 35M public data [1]. EVE achieves 55.0% on classification [1].", both)
    assert checked.text == "EVE is trained with 35M public data [1]."
    assert any("55.0 is from [2], not from the paper it cites" in note for note in checked.notes)


def test_a_count_written_out_must_be_the_papers_in_words_or_figures():
    bridge = [passage(1, "BridgeTower", "BridgeTower introduces multiple bridge layers. It has two towers.")]
    checked = check_answer("BridgeTower adds three bridge layers [1]. It has 2 towers [1]. "
                           "It has two towers [1].", bridge)
    assert "three" not in checked.text and "It has 2 towers" in checked.text and "It has two towers" in checked.text
    assert any("no source states three" in note for note in checked.notes)


UNI = ("Uni-Encoder", "Poly-Encoder addresses these problems by reducing the interaction between context and "
                     "candidates, but with a price of performance drop. We develop Uni-Encoder, which keeps the full "
                     "attention between context and candidates. Uni-Encoder is 4X faster at inference.")


@pytest.mark.parametrize(("answer", "expected"), [
    ("Uni-Encoder reduces the interaction between context and candidates at a price of performance drop [1].",
     "Poly-Encoder reduces the interaction between context and candidates at a price of performance drop [1]."),
    ("Poly-Encoder reduces the interaction between context and candidates at a price of performance drop [1].", None),
    ("Uni-Encoder keeps the full attention between context and candidates [1].", None),
    ("Uni-Encoder is 4X faster at inference [1].", None),
])
def test_a_claim_giving_the_paper_what_it_says_another_system_does_gets_the_rightful_subject(answer, expected):
    checked = check_answer(answer, [passage(1, *UNI)])
    assert checked.text == (expected or answer)
    rewritten = [note for note in checked.notes if "Uni-Encoder changed to Poly-Encoder" in note]
    assert bool(rewritten) is bool(expected)
    # a claim that shares too little with the other system's sentence was not made from it
    assert rightful_subject("Uni-Encoder reduces latency on mobile phones.", passage(1, *UNI).paper) is None


def test_both_with_one_citation_is_removed(both):
    checked = check_answer("EVE is trained with 35M public data [1]. Both models are encoder-free [1].", both)
    assert checked.text == "EVE is trained with 35M public data [1]."
    assert any("speaks of several papers but cites one" in note for note in checked.notes)
    kept = check_answer("Both EVE [1] and ENEL [2] are encoder-free [1][2].", both)
    assert "Both" in kept.text and {c.number for c in kept.citations} == {1, 2}


def test_a_number_no_paper_states_is_removed(both):
    checked = check_answer("EVE is trained with 35M public data [1]. EVE reaches 91.3% accuracy [1].", both)
    assert checked.text == "EVE is trained with 35M public data [1]."
    assert any("no source states 91.3" in note for note in checked.notes)


def test_an_answer_left_with_no_sentence_abstains(both):
    result = finish("How large is ENEL?", Retrieval("How large is ENEL?", tuple(both), 0.6),
                    "ENEL is trained on 35M public data [2].")
    assert result.abstained and result.citations == ()
    assert any("35M is from [1]" in note for note in result.notes)


def table_of(*papers: tuple[str, str]) -> ComparisonTable:
    rows = []
    for letter, (name, abstract) in zip("AB", papers, strict=False):
        paper = Paper(id=f"id-{letter}", title=name, abstract=abstract, source="jsonl")
        cells = tuple(Cell(abstract, 0, True, "model") for _ in FIELDS)
        rows.append(Row(paper, letter, name, cells))
    return ComparisonTable(tuple(rows))


WAU = ("WAU", "We propose the window attention upsample (WAU) module. On Synapse it improves Dice by 2.3 points.")
UNET = ("U-Net", "U-Net is widely used in medical image segmentation. We study encoders for U-Net on BTCV.")


def test_a_comparison_sentence_gives_each_paper_only_its_own_facts():
    table = table_of(WAU, UNET)
    wrong = "[A] and [B] both use window attention upsample (WAU). [A] is evaluated on Synapse."
    assert check_summary(wrong, table) == ""  # one sentence is left: too little to keep
    right = ("[A] adds a WAU module, while [B] studies encoders for U-Net. [A] is evaluated on Synapse, "
             "whereas [B] reports on BTCV.")
    assert check_summary(right, table) == right


TURKISH = ("Turkish BERT", "We fine-tune a Transformer-based encoder for named-entity recognition and question "
           "answering in Turkish.")
LATENCY = ("LAT", "We propose a latency adjustable Transformer encoder that removes tokens at inference time.")


@pytest.mark.parametrize("summary", [
    # the sample day's model wrote these; each gives one paper a fact of the other, in plain words
    "[A] and [B] both fine-tune a Transformer-based encoder for question answering in Turkish.",
    "[A] uses a latency adjustable Transformer encoder, while [B] studies question answering.",
    "Both methods fine-tune an encoder for named-entity recognition, but [A] works in Turkish.",  # "both", one paper
])
def test_a_comparison_sentence_stating_the_other_papers_fact_in_plain_words_is_removed(summary):
    table = table_of(TURKISH, LATENCY)
    right = "[A] fine-tunes an encoder for Turkish, while [B] removes tokens at inference time."
    assert check_summary(f"{summary} {right}", table) == ""  # only one sentence left: too little
    assert check_summary(f"{right} [A] improves both recognition and answering.", table) == \
        f"{right} [A] improves both recognition and answering."


def test_a_cell_that_is_not_of_its_field_is_not_kept():
    assert not of_its_field("data", "the convolutional neural network and Transformer architectures")
    assert of_its_field("data", "BraTS and KiTS benchmarks") and of_its_field("data", "ImageNet")
    assert not of_its_field("result", "launch EVE, an encoder-free vision-language model")
    assert of_its_field("data", "Synapse and ACDC") and of_its_field("data", "35M publicly accessible data")
    assert not of_its_field("data", "LMMs, image encoders, video encoders")
    assert not of_its_field("data", "UNet, using various technologies")
    assert not of_its_field("result", "ShapeLLM-13B") and of_its_field("result", "55.0% on classification")
    assert not of_its_field("result", "pre-trains SpeechT5 to learn a representation, hoping to improve the modeling")
    assert of_its_field("result", "improves R10@1, hoping to deploy it")
    assert not of_its_field("result", "launch EVE, a vision-language model that can be trained efficiently")
    assert not of_its_field("result", "ShapeLLM-13B, 55.0%, 50.92%, 42.7%")
    assert of_its_field("result", "rivals ShapeLLM-13B, achieving 55.0% on classification")
    cell = trace_cell("data", "the convolutional neural network and Transformer architectures",
                      "We combine convolutional neural network and Transformer architectures. It is fast.")
    assert cell.origin != "model"


def test_the_answering_sentence_is_quoted_after_the_answer(sample_library):
    question = "By how much does TracksTo4D reduce runtime?"
    retrieval = retrieve(sample_library, question)
    quote = answering_sentence(sample_library, question, retrieval.passages)
    assert quote is not None and "runtime by up to 95" in quote.sentence.text
    unsupported = finish(question, retrieval, "It is a new method.")
    assert unsupported.abstained
    quoted = with_quote(unsupported, quote)
    assert not quoted.abstained and quoted.text.startswith("From the paper: “") and "up to 95" in quoted.text
    [citation] = quoted.citations
    assert citation.sentences == (quote.sentence.text,) and f"[{citation.number}]" in quoted.text


def quote_from_whole_paper(library, title_start: str, question: str) -> str:
    """The sentence quoted for `question` when the passage is the whole abstract of the paper named."""
    [paper] = [p for p in library.papers() if p.title.startswith(title_start)]
    found = library.sentence_vectors.of([paper])[paper.id].sentences
    whole = Passage(1, paper, f"{paper.id}#0", tuple(SourceSentence(i, text) for i, text in enumerate(found)), 0.6)
    quote = answering_sentence(library, question, [whole])
    assert quote is not None
    return quote.sentence.text


def test_within_the_paper_the_words_asked_about_outweigh_closeness_in_meaning(sample_library):
    # the sentences describing the paper's attention over candidates are closer in meaning; the words
    # "all candidates" asked about are in the one that answers
    question = "What does Uni-Encoder give all candidates so that they are treated equally?"
    assert "same positional embedding" in quote_from_whole_paper(sample_library, "Uni-Encoder", question)


def test_the_words_asked_about_are_matched_by_their_stems(sample_library):
    # "validated" in the question, "validate" in the answering sentence: the light suffix stemmer kept
    # them apart, and a sentence closer in meaning won
    question = "Besides text-to-image, which tasks is the diffusion encoder propagation scheme also validated on?"
    assert "text-to-video" in quote_from_whole_paper(sample_library, "Faster Diffusion", question)


def test_the_clause_saying_which_paper_is_asked_about_does_not_pick_the_sentence(sample_library):
    # the opening clause describes the paper in the words of its introducing sentence; the clause after it
    # asks for the benchmarks, which another sentence names
    question = ("In the paper introducing a multi-scale encoder-decoder self-attention mechanism for medical image "
                "analysis, which benchmarks does it report state-of-the-art results on?")
    # (counted like the rest of the question, they picked the introducing sentence)
    quoted = quote_from_whole_paper(sample_library, "MEDUSA", question)
    assert "COVIDx" in quoted and "RSNA" in quoted, quoted
    # and the sentences the prompt carries of the paper are chosen the same way: counted like the rest, the
    # clause's words ("single-body", "multi-scale heads") kept three sentences about the mechanism
    described = ("In the work proposing a single-body, multi-scale-heads self-attention mechanism for medical "
                 "images, which benchmarks does it lead on?")
    [paper] = [p for p in sample_library.papers() if p.title.startswith("MEDUSA")]
    carried = with_best_sentences(sample_library, described, Passage(1, paper, f"{paper.id}#0", (), 0.6), 3)
    assert any("COVIDx" in s.text for s in carried.sentences), [s.text for s in carried.sentences]
    # among several papers' passages, such a clause says the question is about one of them, as "the paper" does
    retrieved = retrieve(sample_library, described).passages
    passages = [with_best_sentences(sample_library, described, p, 3) for p in retrieved]
    assert "COVIDx" in answering_sentence(sample_library, described, passages).sentence.text


def test_a_sentence_pointing_at_code_is_never_a_cell():
    found = ["We propose WidgetNet.", "WidgetNet is faster than the baselines.",
             "Our code is available in https://github.com/x/Faster-WidgetNet."]  # "Faster" is a result cue
    cell = extractive_cell("result", found)
    assert cell.text == "WidgetNet is faster than the baselines." and cell.sentence_index == 1


def test_a_result_cell_prefers_the_sentence_that_states_the_numbers():
    found = ["We introduce WidgetBERT, a fast encoder.",
             "When pretrained from scratch, it achieves a GLUE score of 79.6 in 1.13 hours on 8 GPUs.",
             "We plot accuracy vs. speed curves and show that WidgetBERT is consistently Pareto optimal.",
             "We open source our weights."]
    cell = extractive_cell("result", found)
    assert cell.sentence_index == 1 and "1.13 hours" in cell.text


def test_an_answer_about_one_paper_and_a_quote_from_another_keep_the_better_retrieved_one(sample_library):
    question = "Which loss do the authors propose for training dual-encoder models on extreme multi-label classification?"
    retrieval = retrieve(sample_library, question)
    first, second = retrieval.passages[:2]
    quote = answering_sentence(sample_library, question, retrieval.passages)
    assert quote.passage.number == first.number == 1
    # The model answered from the second paper: its sentence goes, the first paper's sentence stands alone.
    elsewhere = finish(question, retrieval, f"{second.sentences[1].text} [2]")  # M2-Encoder's loss
    assert [c.number for c in elsewhere.citations] == [2]
    alone = with_quote(elsewhere, quote)
    assert alone.text == f"From the paper: “{quote.sentence.text}” [1]"
    assert [c.number for c in alone.citations] == [1] and "left out" in alone.notes[-1]
    # The model answered from the first paper and the quote comes from the second: the quote goes.
    answered = finish(question, retrieval, f"{first.sentences[-1].text} [1]")
    off = Quote(second, second.sentences[0], 1.0)
    kept = with_quote(answered, off)
    assert kept.text == answered.text and [c.number for c in kept.citations] == [1]


BRIDGE = ("BridgeTower", "We propose BridgeTower. On the VQAv2 test-std set, BridgeTower achieves an accuracy of 78.73%. "
                         "When further scaling the model, BridgeTower achieves an accuracy of 81.15%.")


def test_a_figure_the_paper_gives_for_something_else_is_removed():
    sources = [passage(1, *BRIDGE)]
    wrong = check_answer("BridgeTower achieves an accuracy of 81.15% on the VQAv2 test-std set [1].", sources)
    assert wrong.text == "" and "81.15 is the paper's figure for something else; it gives 78.73" in wrong.notes[0]
    right = "BridgeTower achieves an accuracy of 78.73% on the VQAv2 test-std set [1]."
    assert check_answer(right, sources).text == right
    scaled = "Scaled up, BridgeTower achieves an accuracy of 81.15% [1]."
    assert check_answer(scaled, sources).text == scaled


class NoGeneration:
    """A generator that must not be called: quote-only answers make no generation."""

    name = "none"

    def stream(self, messages, **options):
        raise AssertionError("the model was called")

    def generate(self, batch, **options):
        raise AssertionError("the model was called")

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def test_a_quote_only_answer_is_the_answering_sentence_with_no_generation(sample_library):
    events = list(ask_stream(sample_library, NoGeneration(), "By how much does TracksTo4D reduce runtime?",
                             options=AskOptions(quote="only")))
    [token] = [e for e in events if isinstance(e, Token)]
    result = events[-1].result
    assert token.text == result.text and result.text.startswith("From the paper: “") and "up to 95" in result.text
    assert not result.abstained and [c.number for c in result.citations] == [1] and result.notes == ()
    with pytest.raises(ValueError, match="unknown quote mode 'first'"):
        AskOptions(quote="first")


def test_a_result_fallback_is_an_outcome_not_an_aim():
    found = ["We pre-train WidgetT5 on speech and text, hoping to improve the modeling capability for both.",
             "Evaluations show WidgetT5 outperforms the baselines on six tasks."]
    assert extractive_cell("result", found).sentence_index == 1
    assert extractive_cell("result", found[:1]).origin == "none"


INPAINTING = ("Mutual encoder-decoder", "We propose a mutual encoder-decoder CNN for image inpainting. We use CNN "
              "features from the deep and shallow layers of the encoder to represent structures and textures, "
              "respectively. The equalized feature supplements decoder features for output generation.")


def test_a_part_given_to_the_wrong_counterpart_is_removed():
    sources = [passage(1, *INPAINTING)]
    swapped = ("The encoder layers represent structures and the decoder layers represent textures [1]. "
               "Deep encoder layers represent structures [1].")
    checked = check_answer(swapped, sources)
    assert checked.text == "Deep encoder layers represent structures [1]."
    assert any("“decoder layers”" in note and "encoder's layers" in note for note in checked.notes)
    said = "The decoder features are supplemented by the equalized feature [1]."
    assert check_answer(said, sources).text == said  # the paper does speak of the decoder's features


def test_a_data_cell_holds_the_data_a_result_sentence_names_or_nothing():
    said = ("We propose WidgetVQA. After fine-tuning, our model achieves the best results on two visual question "
            "answering datasets (i.e., VQA and GQA).")
    model = trace_cell("data", "our model achieves the best results on two visual question answering datasets",
                       said)
    assert model.text == "two visual question answering datasets" and model.origin == "model"
    found = sentences(said)
    assert extractive_cell("data", found).text == "two visual question answering datasets (i.e., VQA and GQA)"
    listed = ["We propose WidgetVid.", "It improves performance across multiple video benchmarks, including "
              "VCGBench, MVBench and zero-shot question answering, while staying fast."]
    assert extractive_cell("data", listed).text == ("multiple video benchmarks, including VCGBench, MVBench and "
                                                    "zero-shot question answering")
    assert extractive_cell("data", ["We propose WidgetNet.", "Experiments show it outperforms prior work on "
                                    "every benchmark."]).text == "not stated"
    assert trace_cell("data", "BM-6B with over 6 billion image-text pairs",
                      "We pretrain on BM-6B with over 6 billion image-text pairs.").origin == "model"


def test_a_cell_read_alone_does_not_open_with_a_joiner():
    found = ["We propose WidgetVQA.", "Our model reaches 54% on VQA, and improves the previous best result by 22%."]
    assert extractive_cell("result", found).text.startswith("Our model reaches 54%")
    clause = trace_cell("result", "and improves the previous best result by 22%", " ".join(found))
    assert clause.text == "improves the previous best result by 22%"


def test_a_data_cell_names_the_data_not_the_sentence_around_it():
    said = ("Current approaches were not designed to operate on casual videos recorded by standard cameras or "
            "require a long optimization time. We present WidgetTracks, a feed-forward model. WidgetTracks is "
            "trained in an unsupervised way on a dataset of casual videos utilizing only 2D point tracks. "
            "We evaluate WidgetTracks on two publicly available tracking benchmarks.")
    garbled = trace_cell("data", "casual videos recorded by standard cameras or require a long optimization time", said)
    assert garbled.origin == "extractive", "other people's work is not this paper's data"
    assert garbled.text in ("a dataset of casual videos", "two publicly available tracking benchmarks")
    whole = trace_cell("data", "We evaluate WidgetTracks on two publicly available tracking benchmarks", said)
    assert whole.text == "two publicly available tracking benchmarks" and whole.origin == "model"
    vague = ["We propose WidgetCraft.", "It leads to substantial improvements in quantitative benchmarks."]
    assert extractive_cell("data", vague).text == "not stated", "a generic word doesn't say which data"


def test_a_key_result_states_an_outcome_not_what_the_method_is_built_for():
    assert not of_its_field("result", "retrieval is made efficient with CUR decomposition, a matrix decomposition")
    assert of_its_field("result", "trade-offs superior to the current widely-used methods")
    assert of_its_field("result", "more robust and 3 to 4 times faster for inference")


def test_a_cell_the_background_supports_best_is_not_the_papers():
    said = ("Segmentation methods downsample images for feature extraction and then upsample them. "
            "We propose WidgetUp, an upsample approach for image segmentation that upsamples features. "
            "We evaluate WidgetUp on the Synapse and ACDC datasets.")
    cell = trace_cell("data", "Segmentation methods downsample images for feature extraction and then upsample", said)
    assert cell.origin == "extractive" and cell.text == "the Synapse and ACDC datasets"


def test_a_garbled_comparison_is_no_key_result_and_an_uncut_clause_has_no_ellipsis():
    assert not of_its_field("result", "reduces computational cost than training an auxiliary dual-encoder model")
    assert of_its_field("result", "is computationally cheaper than training an auxiliary dual-encoder model")
    assert of_its_field("result", "uses fewer parameters than the original")
    found = ["We propose WidgetCraft, a fine-tuning method for text encoders.",
             "Our findings reveal that, instead of replacing the text encoder with other large language models, we "
             "can enhance it through WidgetCraft, leading to substantial improvements in quantitative benchmarks.",
             "We also demonstrate that WidgetCraft can be combined with other methods to further improve quality."]
    assert extractive_cell("result", found).text == "leading to substantial improvements in quantitative benchmarks"


def test_a_method_cell_that_only_restates_the_title_gives_way_to_the_abstract():
    said = ("Vision-language models rely on vision encoders. In this work, we bridge the gap between encoder-based "
            "and encoder-free models with a simple training recipe. We launch WidgetVLM.")
    title = "Unveiling Encoder-Free Vision-Language Models"
    cell = trace_cell("method", "unveiling encoder-free vision-language models", said, title=title)
    assert cell.origin == "extractive" and "training recipe" in cell.text
    kept = trace_cell("method", "a simple training recipe for encoder-free models", said, title=title)
    assert kept.origin == "model"


def test_a_gain_stated_as_a_score_is_removed_and_a_gain_stated_as_a_gain_kept():
    lxmert = passage(1, "LXMERT", "We adapt our model to NLVR2 and improve the previous best result by 22% absolute "
                                  "(54% to 76%). It reaches 72.5% on VQA.")
    wrong = check_answer("LXMERT reaches 22% absolute accuracy on NLVR2 [1]. It reaches 72.5% on VQA [1].", [lxmert])
    assert wrong.text == "It reaches 72.5% on VQA [1]."
    assert any("22% as a level, where the paper gives it as a change" in note for note in wrong.notes)
    right = "LXMERT improves the best NLVR2 result by 22% absolute, from 54% to 76% [1]."
    assert check_answer(right, [lxmert]).text == right
    assert "76% as a change" in " ".join(check_answer("LXMERT improves NLVR2 by 76% [1].", [lxmert]).notes)


def test_how_a_percentage_is_stated_is_read_from_the_words_around_it():
    assert percent_roles("improves R10@1 by up to 2.9% and gets 88.50% top-1") == {"2.9": {CHANGE}, "88.5": {LEVEL}}
    assert percent_roles("a 41% speed-up, 3% higher, an improvement of 5%") == {"41": {CHANGE}, "3": {CHANGE},
                                                                              "5": {CHANGE}}
    assert percent_roles("an absolute R10@1 score of 2.9%, 30% masking ratio") == {"2.9": {LEVEL}, "30": {LEVEL}}
    assert figure_in_another_role("No percentage here [1].", Paper(id="p", title="T", abstract="By 5%.",
                                                                   source="jsonl")) is None


def test_over_one_papers_passage_its_title_words_and_digits_in_names_dont_pick_the_quote(sample_library):
    title = "Exploring the Potential of Encoder-free Architectures in 3D LMMs"
    enel = passage(1, title, "To the end, we present the first Encoder-free 3D LMM, ENEL. Our 7B model rivals "
                             "ShapeLLM-13B, achieving 55.0%, 50.92%, and 42.7% on the classification, captioning, and "
                             "VQA tasks, respectively.")
    question = "What score does the encoder-free 3D LMM report on the 3D VQA task?"
    quote = answering_sentence(sample_library, question, [enel])
    assert quote is not None and "42.7%" in quote.sentence.text


NEU_NET_ABSTRACT = ("More complex encoder is not all you need",
        "However, most current U-Net variants confine their improvement strategies to building more complex encoder, "
        "while leaving the decoder unchanged or adopting a simple symmetric structure. Furthermore, plain encoder has "
        "already possessed sufficient feature extraction capability because downsampling operation leads to the "
        "gradual expansion of the receptive field, but the loss of information during downsampling process is "
        "unignorable.")
UPSAMPLE_ABSTRACT = ("More than Encoder: Introducing Transformer Decoder to Upsample",
            "Medical image segmentation methods downsample images for feature extraction.")
SPEECHT5_ABSTRACT = ("SpeechT5: Unified-Modal Encoder-Decoder Pre-Training for Spoken Language Processing",
          "Leveraging large-scale unlabeled speech and text data, we pre-train SpeechT5 to learn a unified-modal "
          "representation, hoping to improve the modeling capability for both speech and text. Extensive evaluations "
          "show the superiority of the proposed SpeechT5 framework on a wide variety of spoken language processing "
          "tasks, including automatic speech recognition, speech synthesis, speech translation, voice conversion, "
          "speech enhancement, and speaker identification.")
TURKISH_ABSTRACT = ("Fine-tuning Transformer-based Encoder for Turkish Language Understanding Tasks",
           "In this study, we provide a Transformer-based model and a baseline benchmark for the Turkish Language.")


@pytest.mark.parametrize(("papers", "question", "answering"), [
    # a question about one paper: within it, the title's words only tell it from the others
    ((NEU_NET_ABSTRACT, UPSAMPLE_ABSTRACT),
     "Why does the U-Net paper arguing against more complex encoders consider a plain encoder sufficient for "
     "feature extraction?", "receptive field"),
    # a question about a topic may ask for what a title says
    ((SPEECHT5_ABSTRACT, TURKISH_ABSTRACT),
     "Which spoken language tasks do today's speech models cover?", "speech recognition"),
])
def test_over_several_papers_title_words_pick_a_quote_only_when_the_question_is_about_a_topic(
        sample_library, papers, question, answering):
    quote = answering_sentence(sample_library, question, [passage(n, *paper) for n, paper in enumerate(papers, 1)])
    assert quote is not None and answering in quote.sentence.text


def test_a_count_question_quotes_a_sentence_stating_that_count_over_a_closer_one(sample_library):
    turkish = passage(1, "Fine-tuning Transformer-based Encoder for Turkish Language Understanding Tasks",
                      "We successfully fine-tuned a Turkish BERT model, namely BERTurk, to 12 downstream tasks. "
                      "We publicly released these four fine-tuned models and resources.")
    question = "How many fine-tuned Turkish models did the Turkish language understanding study release?"
    quote = answering_sentence(sample_library, question, [turkish])
    assert quote is not None and "four fine-tuned models" in quote.sentence.text


def test_a_question_made_only_of_the_papers_title_words_quotes_the_sentence_that_names_it(sample_library):
    lxmert = passage(1, "LXMERT: Learning Cross-Modality Encoder Representations from Transformers",
                     "Vision-and-language reasoning requires an understanding of visual concepts and language. "
                     "We thus propose the LXMERT framework to learn these vision-and-language connections. "
                     "Our model achieves state-of-the-art results on two visual question answering datasets.")
    quote = answering_sentence(sample_library, "What is LXMERT?", [lxmert])
    assert quote is not None and "propose the LXMERT framework" in quote.sentence.text
    assert quote.score >= QUOTE_ALONE_MIN  # it may stand alone when the model's answer doesn't


def test_a_sentence_that_only_says_the_question_back_is_removed(both):
    question = "Which encoder-free vision-language model is trained with publicly accessible data?"
    checked = check_answer("The encoder-free vision-language model is trained with publicly accessible data [1]. "
                           "EVE is trained with only 35M publicly accessible data [1].", both, question)
    assert checked.text == "EVE is trained with only 35M publicly accessible data [1]."
    assert any("only says the question back" in note for note in checked.notes)
    assert only_restates("EVE models are trained [1].", "Which EVE model is trained?")  # plural or singular alike
    assert not only_restates("EVE is trained with public data [1].", "Is EVE trained with public data?")  # yes/no
    assert not only_restates("EVE is not trained with 3D data [1].", "What is EVE trained with?")


def test_a_quote_stands_at_a_lower_bar_only_where_the_model_cited_its_paper_and_said_the_question_back(both):
    question = "What data is the encoder-free vision-language model trained with?"
    retrieval = Retrieval(question, tuple(both), 0.6)
    restating = finish(question, retrieval, "The encoder-free vision-language model is trained with data [1].")
    assert restating.abstained and restating.reason == RESTATED
    unsupported = finish(question, retrieval, "It is trained on the Toronto archive.")
    assert unsupported.abstained and unsupported.reason == NO_SUPPORT
    score = (QUOTE_AFTER_RESTATEMENT_MIN + QUOTE_ALONE_MIN) / 2  # between the two bars
    eve, enel = (Quote(p, p.sentences[1], score, asked_said=RESTATED_WORDS_SAID) for p in both)
    assert "35M publicly accessible data" in with_quote(restating, eve).text  # [1], the paper it cited
    assert with_quote(restating, enel).abstained  # [2] was not cited
    assert with_quote(unsupported, eve).abstained  # no paper cited: the usual bar
    assert with_quote(restating, replace(eve, asked_said=RESTATED_WORDS_SAID - 0.1)).abstained  # says too little


def test_asked_for_a_figure_the_quote_is_a_sentence_that_states_one(sample_library):
    title = "Faster Diffusion: Rethinking the Role of UNet Encoder in Diffusion Models"
    fdiff = passage(1, title, "Further based on this observation, we introduce a simple yet effective encoder "
                              "propagation scheme to accelerate the diffusion sampling for a diverse set of tasks. "
                              "Without utilizing any knowledge distillation technique, our approach accelerates both "
                              "the Stable Diffusion (SD) and the DeepFloyd-IF models sampling by 41% and 24% "
                              "respectively, while maintaining high-quality generation performance.")
    question = "How much does the UNet encoder propagation scheme speed up DeepFloyd-IF sampling?"
    quote = answering_sentence(sample_library, question, [fdiff])
    assert quote is not None and "41% and 24%" in quote.sentence.text
    # not asked for a figure: the sentence closest in meaning, figures or none
    quote = answering_sentence(sample_library, "What does the encoder propagation scheme accelerate?", [fdiff])
    assert quote is not None and "diverse set of tasks" in quote.sentence.text
