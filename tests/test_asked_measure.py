"""Fast tier for answers about something else than the question asked (`service.answer_scope`): a
quantity whose measure no paper names (`service.asked_measure`), read in code from the question and
settled before the model runs and again on the papers an answer cites; a question that names a paper
reads only that paper's passages. The real sample library; a scripted generator behind the Generator interface."""

from __future__ import annotations

import re
from dataclasses import replace

from index.models import Paper
from service.answer_scope import MEASURE_NOT_NAMED
from service.ask import (
    NOT_NAMED_PAPER_RETRIEVED,
    Answer,
    AskOptions,
    Token,
    ask,
    ask_stream,
    of_named_papers,
    retrieve,
    settled_without_model,
)
from service.asked_measure import asked_measures, model_variants, names_measure, unstated_in, unstated_measures
from service.compare_answer import names_outright
from service.question_kinds import FACT, OUT_OF_SCOPE
from tests.test_ask import TRACKS, ScriptedGenerator


def paper(abstract: str, title: str = "A paper") -> Paper:
    return Paper(id="p1", title=title, abstract=abstract, source="jsonl")


def test_the_measure_asked_for_is_read_from_the_question():
    assert asked_measures("How many parameters does the EVE model have?") == ("parameter",)
    assert asked_measures("How many GPUs and how many days did pre-training take?") == ("gpu", "day")
    assert asked_measures("What FID score does TextCraftor achieve on COCO?") == ("fid",)
    assert asked_measures("What is the word error rate of OWSM-CTC?") == ("word error_rate",)
    assert asked_measures("What batch size was used to train JPQ?") == ("batch_size",)


def test_questions_without_a_nameable_measure_ask_for_none():
    assert asked_measures("How much faster is Uni-Encoder?") == ()
    assert asked_measures("How many times faster is inference?") == ()
    assert asked_measures("How many points above the previous best is it?") == ()
    assert asked_measures("By how many absolute points did LXMERT improve on NLVR2?") == ()
    assert asked_measures("What accuracy does LXMERT reach on NLVR2?") == (), "papers give accuracies as bare figures"
    assert asked_measures("What does TracksTo4D take as input?") == ()
    # a whole an abstract enumerates without naming it: "… divided into feature regression and label classification"
    assert asked_measures("Into how many parts is LXMERT's masked object prediction task divided?") == ()


def test_a_measure_is_named_in_any_form_and_a_fixed_term_only_whole():
    assert names_measure(paper("It runs on 8 GPUs for two days."), "gpu")
    assert names_measure(paper("Top-1 accuracies of 88.5% on ImageNet."), "top-1 accuracy")
    assert names_measure(paper("Our 7B model rivals ShapeLLM-13B."), "parameter"), "a 7B model names its size"
    assert not names_measure(paper("Utilizing only 35M publicly accessible data."), "parameter")
    assert asked_measures("What are the model sizes of the ENEL model?") == ("model_size",)
    assert names_measure(paper("Our largest M2-Encoder-10B model leads."), "model_size"), "a 10B model is a size"
    assert not names_measure(paper("Utilizing only 35M publicly accessible data."), "model_size")
    assert not names_measure(paper("A learning-based approach at a high frame rate."), "learning_rate")
    assert names_measure(paper("We tune the learning rate."), "learning_rate")
    assert names_measure(paper("A vocabulary size optimized for GPU throughput."), "vocabulary_size")


def test_only_when_no_paper_names_any_asked_measure_is_it_unstated():
    question = "How many GPUs and how many days did pre-training take?"
    assert unstated_measures(question, [paper("Pre-trained with only 4M images.")]) == ("gpu", "day")
    assert unstated_measures(question, [paper("Pre-trained with only 4M images."), paper("It took 3 days.")]) == ()
    assert unstated_measures("What does it take as input?", [paper("No numbers here.")]) == ()


def test_a_measure_no_retrieved_paper_names_abstains_before_the_model_runs(sample_library):
    generator = ScriptedGenerator("EVE is trained on 35M publicly accessible data [1].")
    events = list(ask_stream(sample_library, generator, "How many parameters does the EVE model have?"))
    result = events[-1].result
    assert isinstance(events[-1], Answer) and result.abstained and result.reason == MEASURE_NOT_NAMED
    assert generator.calls == [] and not any(isinstance(e, Token) for e in events)
    assert result.kind == "fact" and any("parameters" in note or "parameter" in note for note in result.notes)


VOCABULARY = "What vocabulary size is used when pre-training the vision-language encoders?"


def bridgetower_data(messages) -> str:
    """A reply citing BridgeTower's passage for its data, which says nothing of a vocabulary size."""
    sources = messages[-1]["content"]
    number = next(n for n in range(1, 6) if f'<source id="{n}">\nTitle: BridgeTower' in sources)
    return f"BridgeTower was pre-trained with only 4M images [{number}]."


def test_an_answer_citing_only_papers_that_never_name_the_measure_abstains(sample_library):
    # retrieval also finds MosaicBERT, which names its vocabulary size, so the model runs; the answer cites BridgeTower
    generator = ScriptedGenerator(bridgetower_data)
    result = ask(sample_library, generator, VOCABULARY, options=AskOptions(quote="none"))
    assert len(generator.calls) == 1, "a retrieved paper names the measure: the model runs"
    assert result.abstained and result.reason == MEASURE_NOT_NAMED and result.citations == ()
    assert result.raw_answer.startswith("BridgeTower was pre-trained")


def test_a_quoted_sentence_never_brings_back_an_answer_the_measure_check_refused(sample_library):
    result = ask(sample_library, ScriptedGenerator(bridgetower_data), VOCABULARY)  # the default: the answering sentence quoted
    assert result.abstained or all("vocabulary size" in sample_library.paper(c.paper_id).abstract for c in result.citations)


def test_a_question_naming_a_paper_reads_only_that_papers_passages(sample_library):
    question = "What speed-up does TracksTo4D give over other encoders?"  # retrieves 3 papers
    assert len(retrieve(sample_library, question).passages) > 1
    generator = ScriptedGenerator(lambda messages: "It reduces runtime by up to 95% [1]")
    result = ask(sample_library, generator, question, options=AskOptions(quote="none"))
    titles = re.findall(r"Title: (.*)", generator.calls[0][-1]["content"])
    assert titles == [TRACKS] and [p.paper.title for p in result.retrieval.passages] == [TRACKS]
    assert not result.abstained and {c.title for c in result.citations} == {TRACKS}


def test_no_passage_of_the_named_paper_means_an_abstention_without_the_model(sample_library):
    retrieval = retrieve(sample_library, "What speed-up does TracksTo4D give over other encoders?")
    others = [p for p in retrieval.passages if p.paper.title != TRACKS]
    named = tuple(p.paper.id for p in retrieval.passages if p.paper.title == TRACKS)
    assert [p.number for p in of_named_papers(retrieval.passages, named)] == [1]
    assert of_named_papers(others, named) == () and of_named_papers(others, ()) == tuple(others)
    settled = settled_without_model("Q?", replace(retrieval, passages=()), True, FACT)
    assert settled.abstained and settled.reason == NOT_NAMED_PAPER_RETRIEVED and settled.kind == FACT
    assert settled_without_model("Q?", replace(retrieval, passages=()), False, FACT).kind == OUT_OF_SCOPE


def test_a_name_typed_without_its_superscript_still_names_its_paper(sample_library):
    # the abstract writes "M^2-Encoder-10B"; a reader types "M2-Encoder-10B"
    question = "How many GPU hours did pretraining the M2-Encoder-10B model take?"
    [(name, paper)] = names_outright(sample_library, question)
    assert name == "M2-Encoder-10B" and paper.title.startswith("M2-Encoder")
    generator = ScriptedGenerator("MosaicBERT took 1.13 hours [1].")
    result = ask(sample_library, generator, question)
    assert result.abstained and all("MosaicBERT" not in c.title for c in result.citations)


# --- a sentence quoted alone must state what a quantity question asks for ---------------------------------

BRIDGE_SENTENCE = ("In this paper, we propose BridgeTower, which introduces multiple bridge layers that build a "
                   "connection between the top layers of uni-modal encoders and each layer of the cross-modal encoder.")
UNI_SENTENCE = "For instance, it improves R10@1 by 2.9% with an approximately 4X faster inference speed on the Ubuntu V2 dataset."


def test_a_count_question_needs_a_count_of_what_it_counts():
    assert unstated_in("How many bridge layers does BridgeTower add?", BRIDGE_SENTENCE) == \
        "it gives no count of bridge layers"
    crowd = "We conduct extensive experiments on five crowd counting datasets and one vehicle counting dataset."
    assert unstated_in("How many crowd counting datasets were the models tested on?", crowd) is None
    assert unstated_in("How many GPUs were used?", "in 1.13 hours on 8 A100 80 GB GPUs") is None
    assert unstated_in("How many times faster is it?", "It is much faster.") is None  # "times" is not counted
    # "absolute points" are a percentage's unit, not something counted
    assert unstated_in("By how many absolute points did LXMERT improve the previous best on NLVR2?",
                       "improve the previous best result by 22% absolute (54% to 76%).") is None
    # counts in words other than numerals, and a comma between the count and what it counts
    assert unstated_in("How many paths does the decoder have?", "M-SFANet's decoder has dual paths.") is None
    assert unstated_in("How many self-attention mechanisms does MEDUSA use?", "MEDUSA uses a single, unified "
                       "self-attention mechanism with multiple attention heads.") is None
    assert unstated_in("How many face images does it need?", "given a single face image") is None
    assert unstated_in("How many paths does the decoder have?", "The decoder has a path per scale.") == \
        "it gives no count of paths"
    # the whole or nothing of what is counted
    assert unstated_in("How many of the encoder layers does it fuse?", "It fuses all the encoder layers.") is None
    assert unstated_in("How many additional parameters does BridgeTower need?",
                       "BridgeTower adds almost negligible additional parameters.") is None


def test_a_score_question_needs_a_level_not_only_changes():
    question = "What absolute R10@1 score does Uni-Encoder achieve on the Ubuntu V2 dataset?"
    assert unstated_in(question, UNI_SENTENCE) == "it states changes, not the figure asked for"
    assert unstated_in("What accuracy does BridgeTower achieve on VQAv2?", "BridgeTower achieves an accuracy of "
                       "78.73%, outperforming METER by 1.09%.") is None
    assert unstated_in("What average GLUE dev score does it reach?", "a downstream average GLUE (dev) score of 79.6") is None
    assert unstated_in("By what margin does it beat the SoTA?", UNI_SENTENCE) is None  # a change asked for
    # what acts on the accuracy is asked for, not the accuracy: a thing, not a figure
    bound = "What upper-bounds the accuracy of the two-stage retrieve-then-rerank approach?"
    assert unstated_in(bound, "Its accuracy is upper-bounded by the recall of the initial candidate set.") is None
    assert asked_measures(bound) == ()


MOSAIC_SENTENCE = ("When pretrained from scratch on the C4 dataset, this base model achieves a downstream average GLUE "
                   "(dev) score of 79.6 in 1.13 hours on 8 A100 80 GB GPUs at a cost of roughly $20.")


def test_a_question_about_one_size_of_a_model_needs_a_sentence_about_that_size():
    question = "What average GLUE dev score does MosaicBERT-large reach?"
    assert unstated_in(question, MOSAIC_SENTENCE) == "it is about the base model, not the large one"
    assert unstated_in(question, "MosaicBERT base and large reach GLUE scores of 79.6 and 83.2.") is None
    assert unstated_in(question, "MosaicBERT reaches a GLUE score of 79.6.") is None  # no size named: can't tell
    assert unstated_in("What GLUE score does MosaicBERT-base reach?", MOSAIC_SENTENCE) is None
    assert model_variants("BERT-Large and T5-XL") == {"large", "xl"}
    assert model_variants("The large model is better than BERT BASE.") == {"large", "base"}
    # sizes that are not a model's: "a large language model", "large-scale", "the Base setting"
    assert model_variants("a large language model with base rates on a large-scale set in the Base setting") == set()


def test_a_quote_that_does_not_state_the_asked_count_leaves_the_abstention(sample_library):
    question = "How many bridge layers does BridgeTower add between the uni-modal and cross-modal encoders?"
    result = ask(sample_library, ScriptedGenerator(lambda messages: "BridgeTower adds 2 bridge layers [1]."), question)
    assert result.abstained and result.citations == ()
    assert any("not quoted: it gives no count of bridge layers" in note for note in result.notes), result.notes


def test_a_model_answer_that_does_not_state_the_asked_score_becomes_the_abstention(sample_library):
    question = "What average GLUE dev score does MosaicBERT-large reach?"
    non_answer = "MosaicBERT base and large are consistently Pareto optimal [1]."
    result = ask(sample_library, ScriptedGenerator(lambda messages: non_answer), question)
    assert result.abstained and result.citations == ()
    assert any("answer is left out: it states changes, not the figure asked for" in note for note in result.notes)
    # the closest sentence is about the base model: not quoted either
    assert any("not quoted: it is about the base model, not the large one" in note for note in result.notes), \
        result.notes


def test_an_answer_to_one_part_of_a_two_part_question_stands(sample_library):
    question = ("Which Turkish BERT model is fine-tuned in the Turkish language understanding paper, and how many "
                "languages does the free verse generation paper cover?")
    answer = "The paper fine-tunes BERTurk [1]."
    result = ask(sample_library, ScriptedGenerator(lambda messages: answer), question)
    assert not result.abstained and "BERTurk" in result.text
