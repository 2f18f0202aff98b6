"""Which figure goes with which thing inside one sentence of the paper, on crafted model outputs: a figure
read with the measure beside another figure, one read against a "respectively" list, a count of the
wrong thing. Each wrong sentence is removed with a note, a wrong compare cell gives way to the
paper's sentence and a wrong summary sentence is dropped; each right one is kept."""

from __future__ import annotations

import pytest

from index.models import Paper
from index.text import sentences
from service.citations import Passage, SourceSentence, check_answer
from service.compare import FIELDS, ComparisonTable, Row, check_summary
from service.compare_cells import Cell, trace_cell
from service.figure_binding import (
    count_for_another_thing,
    figure_asked_elsewhere,
    figure_bound_elsewhere,
    figure_of_another_measure,
)

UNI = ("Uni-Encoder: A Fast and Accurate Response Selection Paradigm",
       "We propose Uni-Encoder. For instance, it improves R10@1 by 2.9% with an approximately 4X faster inference "
       "speed on the Ubuntu V2 dataset.")
FASTER = ("Faster Diffusion: Rethinking the Role of UNet Encoder in Diffusion Models",
          "Our approach accelerates both the Stable Diffusion (SD) and the DeepFloyd-IF models sampling by 41% and 24% "
          "respectively, while maintaining high-quality generation performance.")
ENEL = ("Exploring the Potential of Encoder-free Architectures in 3D LMMs",
        "Our 7B model achieves 55.0%, 50.92%, and 42.7% on the classification, captioning, and VQA tasks, "
        "respectively.")
M2 = ("M2-Encoder: Advancing Bilingual Image-Text Understanding",
      "Our largest model has achieved top-1 accuracies of 88.5% on ImageNet and 80.7% on ImageNet-CN under a "
      "zero-shot classification setting, surpassing previously reported SoTA methods by 2.2% and 21.1%, respectively.")
LXMERT = ("LXMERT: Learning Cross-Modality Encoder Representations from Transformers",
          "It has three encoders. We pre-train it via five diverse representative pre-training tasks. We use a "
          "two-stage schedule.")


def paper(title: str, abstract: str) -> Paper:
    return Paper(id="p1", title=title, abstract=abstract, source="jsonl")


def passage(title: str, abstract: str) -> Passage:
    return Passage(1, paper(title, abstract), "p1#0",
                   tuple(SourceSentence(i, text) for i, text in enumerate(sentences(abstract))), 0.5)


@pytest.mark.parametrize(("source", "wrong", "right", "said"), [
    (UNI, "Uni-Encoder improves inference speed on Ubuntu V2 by 2.9%",  # the measure beside another figure
     "Uni-Encoder improves R10@1 by 2.9% on the Ubuntu V2 dataset",
     "it gives 2.9 to “inference speed Ubuntu”, for which the paper gives 4"),
    (FASTER, "Faster Diffusion speeds up DeepFloyd-IF sampling by 41%",  # another place in a respectively list
     "It speeds up Stable Diffusion sampling by 41%", "for which the paper gives 24"),
    (M2, "It surpasses the SoTA on ImageNet-CN by 2.2%",  # the list is the things the other figures are for
     "It surpasses the SoTA on ImageNet-CN by 21.1%", "it gives 2.2 to “ImageNet-CN”, for which the paper gives 21.1"),
])
def test_a_figure_given_to_what_the_paper_pairs_with_another_is_removed(source, wrong, right, said):
    checked = check_answer(f"{wrong} [1]. {right} [1].", [passage(*source)])
    assert checked.text == f"{right} [1]."
    assert any(said in note for note in checked.notes)


def test_each_figure_goes_with_the_words_beside_it_or_its_place_in_the_list():
    assert figure_bound_elsewhere("It gives an approximately 4X faster inference speed.", paper(*UNI)) is None
    assert figure_bound_elsewhere("It improves R10@1 by 4X.", paper(*UNI)) is not None
    assert figure_bound_elsewhere("It accelerates DeepFloyd-IF by 24%.", paper(*FASTER)) is None
    assert figure_bound_elsewhere("It accelerates SD by 24%.", paper(*FASTER)) is not None
    m2 = paper(*M2)
    assert figure_bound_elsewhere("It reaches 88.5% on ImageNet and 80.7% on ImageNet-CN, surpassing the SoTA by 2.2% "
                                  "and 21.1%.", m2) is None  # the sentence restated
    enel = paper(*ENEL)
    assert figure_bound_elsewhere("ENEL achieves 42.7% on VQA.", enel) is None
    assert "the paper gives 42.7" in figure_bound_elsewhere("ENEL achieves 55.0% on the VQA task.", enel)
    assert "the paper gives 50.92" in figure_bound_elsewhere("ENEL achieves 55% on captioning.", enel)
    # naming two of the list's things settles nothing
    assert figure_bound_elsewhere("ENEL achieves 55% on classification and captioning.", enel) is None


def test_a_figure_in_a_sentence_that_settles_nothing_passes():
    single = paper("T", "Our method is fast. It reaches 88.5% on ImageNet.")
    assert figure_bound_elsewhere("It reaches 88.5% top-1 accuracy.", single) is None
    assert figure_bound_elsewhere("It has no figure.", single) is None


def test_a_count_of_what_the_paper_counts_otherwise_is_removed():
    checked = check_answer("LXMERT uses two pre-training tasks [1]. LXMERT has three encoders [1].", [passage(*LXMERT)])
    assert checked.text == "LXMERT has three encoders [1]."
    assert any("it counts 2 of “task”, where the paper counts 5" in note for note in checked.notes)
    lxmert = paper(*LXMERT)
    assert count_for_another_thing("LXMERT uses five pre-training tasks.", lxmert) is None
    assert count_for_another_thing("It trains on two datasets.", lxmert) is None  # the paper counts no datasets
    assert count_for_another_thing("It has a two-stage schedule.", lxmert) is None
    assert count_for_another_thing("It has a three-stage schedule.", lxmert) is not None


ACC = ("An Efficient Transformer Encoder with Adaptive Inference",
       "The proposed encoder model can work with fewer Floating Point Operations (FLOPs) than the original Transformer. "
       "The proposed method improves the inference latency of BERTbase by up to 4.8 times with less than 0.75% "
       "accuracy drop on average.")


def test_a_figure_the_paper_gives_for_one_measure_is_not_given_to_another():
    checked = check_answer("The method cuts FLOPs on BERTbase by up to 4.8 times [1]. It loses less than 0.75% "
                           "accuracy [1].", [passage(*ACC)])
    assert checked.text == "It loses less than 0.75% accuracy [1]."
    assert any("it gives 4.8 as computation, where the paper gives it as time" in note for note in checked.notes)
    acc = paper(*ACC)
    assert figure_of_another_measure("It makes BERTbase inference 4.8 times faster.", acc) is None  # the same measure
    assert figure_of_another_measure("It is 4.8 times better.", acc) is None  # no measure named: nothing to compare
    assert figure_of_another_measure("It cuts FLOPs and latency by 4.8 times.", acc) is None
    assert figure_of_another_measure("It reaches 88.5% with half the FLOPs.", paper("T", "It reaches 88.5%.")) is None


BRIDGE = ("BridgeTower: Building Bridges Between Encoders in Vision-Language Representation Learning",
          "In particular, on the VQAv2 test-std set, BridgeTower achieves an accuracy of 78.73%, outperforming the "
          "previous state-of-the-art model METER by 1.09%. Notably, when further scaling the model, BridgeTower "
          "achieves an accuracy of 81.15%, surpassing models that are pre-trained on larger datasets.")


def test_a_figure_from_another_sentence_than_the_one_the_question_asks_about_is_removed():
    question = "What accuracy does BridgeTower get on VQAv2 test-std (the base model, not the scaled one)?"
    checked = check_answer("BridgeTower achieves an accuracy of 81.15%, surpassing models pre-trained on larger "
                           "datasets [1]. On VQAv2 test-std it reaches 78.73% [1].", [passage(*BRIDGE)], question)
    assert checked.text == "On VQAv2 test-std it reaches 78.73% [1]."
    assert any("81.15 is not the paper's figure for what was asked; it gives 1.09, 78.73" in n for n in checked.notes)
    bridge = paper(*BRIDGE)
    assert figure_asked_elsewhere("BridgeTower reaches 78.73%.", question, bridge) is None
    # a question about the scaled model is answered by its figure
    assert figure_asked_elsewhere("It reaches 81.15%.", "What accuracy does the scaled BridgeTower model reach "
                                  "when further scaling it?", bridge) is None
    assert figure_asked_elsewhere("It reaches 81.15%.", "", bridge) is None  # no question: nothing to go by


def test_compare_cells_and_summaries_pair_figures_as_the_paper_does():
    m2 = paper(*M2)
    assert figure_bound_elsewhere("It reaches 88.5% on ImageNet and 80.7% on ImageNet-CN, surpassing the SoTA by 2.2% "
                                  "and 21.1%.", m2) is None  # the sentence restated
    enel = paper(*ENEL)
    wrong = trace_cell("result", "55.0% on the VQA task", enel.abstract, title=enel.title)
    assert wrong.origin == "extractive" and "42.7%" in wrong.text
    right = trace_cell("result", "42.7% on the VQA task", enel.abstract, title=enel.title)
    assert right.origin == "model" and right.text == "42.7% on the VQA task"
    rows = []
    for letter, (title, abstract) in zip("AB", (ENEL, UNI), strict=True):
        cells = tuple(Cell(abstract, 0, True, "model") for _ in FIELDS)
        rows.append(Row(Paper(id=letter, title=title, abstract=abstract, source="jsonl"), letter, title[:8], cells))
    table = ComparisonTable(tuple(rows))
    kept = "[A] reaches 42.7% on VQA. [B] improves R10@1 by 2.9%."
    assert check_summary(kept, table) == kept
    assert check_summary("[A] reaches 55.0% on VQA. [B] improves R10@1 by 2.9%.", table) == ""
