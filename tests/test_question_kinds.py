"""Question kinds, and the answers assembled in code for list, recommend and compare questions, over
the real sample day (real MiniLM, real Chroma) with fake generators through the `Generator` seam."""

from __future__ import annotations

import logging
import re

import pytest

from index.models import Paper
from index.text import sentences
from service.ask import Token, ask, ask_stream
from service.compare_answer import how_it_works, named_papers, question_aspect, what_it_does
from service.evaluation.answers import load_questions
from service.listing import left_out, topic_of
from service.paper_judging import (
    Judged,
    decide,
    evidence,
    likelihood_gains,
    listed_after_judgement,
    naming_papers,
    words_topic,
)
from service.question_kinds import (
    COMPARE,
    FACT,
    FOLLOW_UP,
    LIST,
    MODEL_CHOICES,
    OUT_OF_SCOPE,
    OVERVIEW,
    RECOMMEND,
    classify,
    is_bare_topic,
    kind_by_rules,
)

MEDICAL_SEGMENTATION = {
    "ParaTransCNN: Parallelized TransCNN Encoder for Medical Image Segmentation",
    "More complex encoder is not all you need",
    "More than Encoder: Introducing Transformer Decoder to Upsample",
}
MOSAIC = "MosaicBERT: A Bidirectional Encoder Optimized for Fast Pretraining"
JPQ = "Jointly Optimizing Query Encoder and Product Quantization to Improve Retrieval Performance"


@pytest.mark.parametrize(("question", "kind"), [
    ("Which papers are about medical image segmentation?", LIST),
    ("Are there any papers on speech recognition today?", LIST),
    ("Any work on protein folding?", LIST),
    ("Which paper would help me make BERT pretraining cheaper?", RECOMMEND),
    ("What should I read to learn about encoder-free VLMs?", RECOMMEND),
    ("I need to fill holes in photos — which paper is the best read?", RECOMMEND),
    ("Compare the encoder-free vision-language models EVE and ENEL", COMPARE),
    ("How does TextCraftor differ from Faster Diffusion?", COMPARE),
    ("EVE vs ENEL", COMPARE),
    ("How do Faster Diffusion and the latency adjustable transformer encoder each speed up inference?", COMPARE),
    ("How many benchmark datasets are Uni-Encoder and JPQ each evaluated on?", FACT),
    ("How many layers do MosaicBERT and BERTurk each have?", FACT),
    ("What pre-training objectives do M2-Encoder and LXMERT each use?", COMPARE),
    ("What new datasets do VideoGPT+ and M2-Encoder each contribute?", COMPARE),
    ("EVE and the decoder-only analysis both study decoder-only models: what problem does each identify?", COMPARE),
    ("What's new in 3D vision today?", OVERVIEW),
    ("What does TracksTo4D take as input?", FACT),
    ("Which paper introduces ENEL?", FACT),
    ("By how much does TracksTo4D reduce runtime?", FACT),
    ("Is anyone working on image inpainting today?", LIST),
    ("Anything related to music today?", LIST),
    ("Are there papers on LLM agents or tool use?", LIST),
    ("My translation model only uses the top encoder layer. Is there a paper on using the other layers?", RECOMMEND),
    ("I want better fusion between my image and text encoders. Which paper?", RECOMMEND),
    ("My index of text embeddings eats too much RAM. Any suggestions?", RECOMMEND),
    ("Graph transformer papers for molecules?", LIST),
    ("image generation papers (GANs, diffusion, etc.)", LIST),
    ("Papers today that evaluate on GLUE?", LIST),
    ("Show me self-supervised methods for point clouds.", LIST),
    ("We count cars on highway cameras, in traffic jams and empty roads. What should I look at?", RECOMMEND),
    # the need in the first person, but not its opening word
    ("Attention in the upsampling step of my decoder costs too much memory. Is there a paper that keeps it "
     "affordable?", RECOMMEND),
    ("Does anything today read doctors' notes?", LIST),
    ("Did anyone look at how a chatbot picks the best reply out of several drafts?", LIST),
    ("Has anybody tried dropping the vision encoder?", LIST),
    ("Is there anything on crowd counting today?", LIST),
    ("Who's working on diffusion models?", LIST),
    ("Who is learning representations of proteins?", LIST),
    ("Who is the first author of TextCraftor?", FACT),
    ("I'm looking for papers on speech recognition", LIST),
    ("Find me work that compresses retrieval indexes", LIST),
    ("Papers using wavelets?", LIST),
    ("Has the paper been evaluated on GLUE?", FACT),
    ("I want an assistant for long videos. What's the paper to read?", RECOMMEND),
    ("Does any paper I read today use wavelets?", LIST),
    ("Is the model trained on public data?", FACT),
    ("Does any paper make use of wavelet transforms?", LIST),
    ("Any mixture-of-experts models out today?", LIST),
    ("What's out today on speech translation?", LIST),
    ("Diffusion papers today?", LIST),
    ("Does the paper use wavelet transforms?", FACT),
    ("How many layers do the papers use?", FACT),
    ("Channel attention papers?", LIST),
    # a clause before the question word
    ("Apart from translation and summarization, what third task is SurfaceFusion evaluated on?", FACT),
    ("Because of their cost, what are cross-encoders typically limited to?", FACT),
    ("What new activation function does the inpainting paper propose?", FACT),
    ("Into which layers does ENEL's aggregation strategy incorporate inductive bias?", FACT),
    ("At which conference was the MEDUSA paper published?", FACT),
    ("crowd counting paper with multi-scale modules - what are the decoder's two paths used to generate?", FACT),
    ("neU-Net paper: what causes the artifacts?", FACT),
    ("Medical segmentation - which papers?", LIST),
    ("What new datasets are out on speech today?", OVERVIEW),
    ("I must choose between a decoder-only model and an encoder-decoder, and I want a principled comparison. "
     "What should I read?", RECOMMEND),
    ("Which of these are speech papers?", LIST),
    ("Which of today's use point clouds?", LIST),
    ("Starting an NER project on Turkish text. Is there a paper with a baseline I could build on?", RECOMMEND),
    # a topic's name alone, as typed into a search box
    ("speech recognition", LIST),
    ("RL for robot control?", LIST),
    ("vision-language pretraining", LIST),
    ("LLMs for code", LIST),
])
def test_rules_tell_the_kinds_apart(question, kind):
    assert kind_by_rules(question) == kind


class KindScorer:
    """Scores the model's choices so that `favourite` wins; records the prompts it saw."""

    name = "kind-scorer"

    def __init__(self, favourite: str):
        self.favourite, self.prompts = favourite, []

    def score_choices(self, messages, choices):
        self.prompts.append(messages[-1]["content"])
        return [0.0 if choice == self.favourite else -5.0 for choice in choices]


def test_show_me_asks_for_papers_only_when_it_names_a_kind_of_work():
    assert kind_by_rules("Show me self-supervised methods for point clouds.") == LIST
    assert kind_by_rules("Show me the GLUE score of MosaicBERT.") != LIST  # one figure of one paper
    assert kind_by_rules("Summarise today's papers") == OVERVIEW  # a few words and "papers", but no question
    assert kind_by_rules("Which of these two models is faster?") != LIST  # two papers, not a list of them


@pytest.mark.parametrize("question", [
    "LXMERT accuracy?", "BridgeTower", "OWSM-CTC speed", "neU-Net artifacts",  # shaped like a paper's name
    "I want to speed up diffusion inference", "Explain diffusion models",  # a person, an imperative
    "Faster sampling. Any ideas", "diffusion models that are trained on video and images with fewer steps",
])
def test_a_bare_topic_is_a_few_words_naming_no_paper(question):
    assert not is_bare_topic(question)
    assert is_bare_topic("speech recognition") and not is_bare_topic("Anything on speech recognition?")
    assert kind_by_rules(question) is None  # the model decides, as before


def test_a_bare_topic_lists_its_papers_or_abstains_when_none_covers_it(sample_library):
    found = ask(sample_library, RelevanceJudge("segmentation"), "medical image segmentation")
    assert found.kind == LIST and not found.abstained
    assert {c.title for c in found.citations} == MEDICAL_SEGMENTATION
    nothing = ask(sample_library, RelevanceJudge(), "Best pizza in Naples?")
    assert nothing.kind == OUT_OF_SCOPE and nothing.abstained and nothing.citations == ()
    assert re.fullmatch(r"None of the papers of \d{4}-\d\d-\d\d fits “Best pizza in Naples\?”\.", nothing.text)


def test_the_model_classifies_only_what_the_rules_cannot_tell():
    scorer = KindScorer(RECOMMEND)
    decided = classify("I want to speed up diffusion inference", generator=scorer)
    assert (decided.kind, decided.decided_by) == (RECOMMEND, "model")
    assert "I want to speed up diffusion inference" in scorer.prompts[-1]
    seen = len(scorer.prompts)
    assert classify("What does TracksTo4D take as input?", generator=scorer).decided_by == "rules"
    assert len(scorer.prompts) == seen  # the rules decided: no model call
    assert classify("I want to speed up diffusion inference").kind == FACT  # no scorer: the safe default
    assert FOLLOW_UP not in MODEL_CHOICES and OUT_OF_SCOPE not in MODEL_CHOICES  # never guessed


class WritesOnly:
    """A remote-like generator: no log-probabilities, and a list answer must not ask it to write."""

    name = "writes-only"

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, *args, **kwargs):
        raise AssertionError("a list answer is assembled in code, never generated")

    generate = stream


class RelevanceJudge(WritesOnly):
    """A generator that only judges: the question is far likelier after a paper whose block holds one of
    `words`, and unlikelier after any other, than after no paper; never writes."""

    name = "relevance-judge"

    def __init__(self, *words: str):
        self.words, self.judged = words, []

    def score_choices(self, messages, choices):  # asked for a question's kind: leave it to the rules' default
        return [0.0 if c == FACT else -5.0 for c in choices]

    def score_continuations(self, batch, text):
        scores = []
        for messages in batch:
            paper = messages[-1]["content"]
            if "Title:" not in paper:  # no paper: the question's likelihood on its own
                scores.append([-20.0, -20.0])
                continue
            self.judged.append(paper)
            scores.append([-1.0, -1.0] if any(w.lower() in paper.lower() for w in self.words) else [-30.0, -30.0])
        return scores


def test_a_list_answer_names_each_paper_with_a_cited_sentence_of_its_own(sample_library):
    judge = RelevanceJudge("segmentation")
    result = ask(sample_library, judge, "Which papers are about medical image segmentation?")
    assert result.kind == LIST and not result.abstained
    assert {c.title for c in result.citations} == MEDICAL_SEGMENTATION
    papers = {p.id: p for p in sample_library.papers()}
    for number, citation in enumerate(result.citations, start=1):
        own = sentences(papers[citation.paper_id].abstract)
        assert citation.number == number and len(citation.sentences) == 1
        assert citation.sentences[0] == own[citation.sentence_indices[0]]
        assert f"[{number}]" in result.text and citation.sentences[0] in result.text
    assert all(len(block) < 2500 for block in judge.judged)  # judged on a few sentences, not whole abstracts


def test_a_borderline_paper_is_listed_when_it_makes_the_question_likelier(sample_library):
    question = "Is anyone doing negative sampling when training dense retrievers?"  # several borderline papers
    judge = RelevanceJudge("product quantization")
    result = ask(sample_library, judge, question)
    assert [c.title for c in result.citations] == [JPQ]
    assert result.notes == ("[1] judged by the model (borderline by retrieval)",)
    assert len(judge.judged) >= 2
    assert ask(sample_library, RelevanceJudge(), question).citations == ()  # no paper makes it likelier


def test_a_likelihood_gain_is_against_the_question_after_no_paper():
    def scorer(batch, text):
        assert all(m[-1]["content"].endswith("Write a question a reader might ask that this paper answers.")
                   for m in batch)
        return [[-4.0, -6.0], [-0.5, -0.5], [-7.0, -9.0]]

    papers = [Paper(id=name, title=name, abstract=name, source="jsonl") for name in "ab"]
    assert likelihood_gains([(papers[0], ["a"]), (papers[1], ["b"])], "q?", scorer) == [9.0, -6.0]
    seen = []
    likelihood_gains([(papers[0], ["a"])], " ".join(["word"] * 100), lambda b, text: seen.append(text) or [[0.0]] * 2)
    assert seen == [" ".join(["word"] * 40)]  # a long question is scored on its opening
    assert listed_after_judgement(None, 9.0) and not listed_after_judgement(None, -6.0)  # too few papers
    assert listed_after_judgement(1.7, 9.0) and not listed_after_judgement(1.7, -6.0)


def test_borderline_papers_are_decided_round_by_round_the_likeliest_first():
    class Scorer:
        batch_width = 3

        def __init__(self):
            self.rounds = []

        def score_continuations(self, batch, text):
            titles = [re.search(r"Title: (\w+)", m[-1]["content"]) for m in batch]
            self.rounds.append([title.group(1) if title else "" for title in titles])
            return [[-5.0] if not title else [-1.0 if title in "ace" else -9.0] for title in self.rounds[-1]]

    papers = [Paper(id=name, title=name, abstract=name, source="jsonl") for name in "abcde"]
    borderline = [Judged(p, 0.4, 0.0, "maybe", standing=2.0) for p in papers]
    scorer = Scorer()
    decided = decide(borderline, "q?", scorer, lambda pid: [pid])
    first = next(decided)
    assert first.paper.id == "a" and first.included and scorer.rounds == [["", "a"]]  # shown before the rest run
    rest = list(decided)
    assert scorer.rounds == [["", "a"], ["b", "c", "d"], ["e"]]  # no paper again: its score is kept
    assert [j.paper.id for j in rest if j.included] == ["c", "e"]  # 2.0 + 0.07 × 4 nats passes the 2.2 line


def test_without_log_probabilities_borderline_papers_are_decided_by_a_cosine_line(sample_library):
    result = ask(sample_library, WritesOnly(), "Which papers are about cross-encoders?")
    titles = [c.title for c in result.citations]
    assert any(title.startswith("BridgeTower") for title in titles)  # borderline: its cosine alone decides
    assert not any("judged by the model" in note for note in result.notes)  # no model judged anything


@pytest.mark.parametrize(("question", "topic"), [
    ("Which papers report results on GLUE?", "GLUE"),
    ("Is anyone working on image inpainting today?", "image inpainting"),
    ("Is anyone doing self-supervised pretraining on point clouds?", "self-supervised pretraining on point clouds"),
    ("Anything related to music today?", "music"),
    ("Did anyone try dropping the separate visual encoder?", "dropping the separate visual encoder"),
    ("Has anyone looked at speech translation?", "speech translation"),
    ("Who's working on diffusion models?", "diffusion models"),
    ("I'm looking for papers on speech recognition", "speech recognition"),
    ("Papers using wavelets?", "wavelets"),
    ("I want an assistant for long videos. What's the paper to read?", "want an assistant for long videos"),
    ("Which papers run experiments on text machine translation?", "text machine translation"),
    ("Which other papers are about speech?", "speech"),
    ("I run DNNs on weak IoT devices over a wireless link. What should I read?", "run DNNs on weak IoT devices over a wireless link"),
    ("My translation model only uses the top encoder layer. Is there a paper on using the other layers?",
     "My translation model only uses the top encoder layer using the other layers"),
    ("I want better fusion between my image and text encoders — which paper should I read first?",
     "want better fusion between my image and text encoders"),
    ("What's out today that evaluates a model on image captioning?", "image captioning"),
    ("What is out today on diffusion?", "diffusion"),
    ("Does any paper make use of wavelet transforms?", "wavelet transforms"),
    ("Which papers test their method on cardiac imaging data?", "cardiac imaging data"),
    ("Which papers build a new dataset of their own, rather than only using existing ones?",
     "build a new dataset of their own"),
    ("Channel attention papers?", "Channel attention"),
    ("My index of text embeddings eats too much RAM. Any suggestions?", "My index of text embeddings eats too much RAM"),
    ("We count cars on highway cameras. What should I look at first?", "We count cars on highway cameras"),
    ("Diffusion papers today?", "Diffusion"),
    ("Which papers explain how attention works?", "explain how attention works"),
    ("Instead of many small attention blocks, I want one module. What should I read?",
     "Instead of many small attention blocks, I want one module"),
    ("Any medical imaging papers in today's batch?", "medical imaging"),
    ("Which of these are speech papers?", "speech"),
    ("Which papers are about retrieval - dense retrieval, index compression, that sort of thing?",
     "retrieval dense retrieval, index compression"),
])
def test_the_topic_is_the_question_without_its_frame(question, topic):
    assert topic_of(question) == topic


def test_papers_that_name_a_short_topic_verbatim_are_listed_whatever_their_cosines(sample_library):
    result = ask(sample_library, RelevanceJudge(), "Which papers report results on GLUE?")
    titles = {c.title for c in result.citations}
    assert titles == {MOSAIC, "Latency Adjustable Transformer Encoder for Language Understanding"}
    assert all("GLUE" in c.sentences[0] for c in result.citations)  # the evidence is where it says so


def test_a_topic_is_named_by_its_phrase_or_acronym_but_not_by_a_common_word():
    day = [Paper("p-vqa", "VQA paper", "We reach 78.7% on the VQAv2 test-std set.", "t"),
           Paper("p-glue", "Glue paper", "We glue two encoders together.", "t"),
           Paper("p-gan", "GAN paper", "We invert a 3D GAN for faces.", "t"),
           *[Paper(f"p-{n}", f"Other {n}", "We pretrain a model on text.", "t") for n in range(7)]]
    ids = {p.title: p.id for p in day}
    assert naming_papers("visual question answering", day) == {ids["VQA paper"]}
    assert naming_papers("GLUE", day) == set()  # "glue" the verb is not the benchmark
    assert naming_papers("GANs", day) == {ids["GAN paper"]}
    assert naming_papers("pretrain or fine-tune BERT models", day) == set()  # a lone verb is no name
    assert naming_papers("text", day) == set()  # said by most of the day: no topic of its own


def test_a_borderline_paper_that_never_says_a_short_topic_is_not_listed(sample_library):
    # the crowd-counting paper stands near "object detection" ("features of the target object"), and a
    # judge saying yes to every paper would list it; it never says "detection"
    result = ask(sample_library, RelevanceJudge(" "), "Anything on object detection?")
    assert result.kind == LIST and result.citations == ()
    day = [Paper("p-seg", "Segmenting organs", "We segment medical images of the heart.", "t"),
           Paper("p-face", "Faces", "A face editing method.", "t")]
    assert words_topic([["medical", "image", "segmentation"]], day[0])  # by first letters and plurals
    assert not words_topic([["object", "detection"]], day[0])
    assert words_topic([["graph", "networks"], ["human", "faces"]], day[1]) is False  # "human" is unsaid
    assert words_topic([["faces"]], day[1]) and words_topic([], day[1])  # a longer topic has no words to say


def test_a_paper_standing_far_out_passes_the_cosine_floor(sample_library):
    # a described topic embeds far from every abstract: the upsampling paper stands far out (2.4) at a
    # cosine below the floor, so it reaches the model, whose judgement lists it
    question = "Which papers analyse or change the U-Net architecture itself?"
    titles = {c.title for c in ask(sample_library, RelevanceJudge("U-Net"), question).citations}
    assert {"More complex encoder is not all you need",
            "More than Encoder: Introducing Transformer Decoder to Upsample"} <= titles
    # two papers stand just above the include line for a topic the day lacks, at cosines far below the floor
    assert ask(sample_library, RelevanceJudge(" "), "Any sports analytics papers today?").citations == ()


def test_evidence_says_what_the_paper_did_rather_than_what_the_field_does(sample_library):
    papers = {p.title: p for p in sample_library.papers()}
    upsample = papers["More than Encoder: Introducing Transformer Decoder to Upsample"]
    found = evidence(sample_library, "medical image segmentation", [upsample])[upsample.id]
    # not its opening line on the field ("Medical image segmentation methods downsample images …")
    assert found[0][1].startswith("To this end, we propose a novel upsample approach for medical image segmentation")
    quoted = evidence(sample_library, "code and model weights available, open source on github",
                      list(papers.values()), count=3)
    said = [text for kept in quoted.values() for _, text in kept]
    assert not any("github" in text.lower() or "open source" in text.lower() for text in said)


@pytest.mark.parametrize(("question", "topic", "left"), [
    ("Which papers run experiments on text machine translation (translating written text, not speech)?",
     "text machine translation (translating written text)", ["speech"]),
    ("Which papers propose vision-language models for still images and text (leaving out video and 3D models)?",
     "propose vision-language models for still images and text", ["video", "3D models"]),
    ("My cross-encoder is too expensive, and I'd rather not train a dual encoder. What should I read?",
     "My cross-encoder is too expensive, and I'd rather not train a dual encoder", []),
])
def test_what_a_question_leaves_out_is_not_its_topic(question, topic, left):
    assert (topic_of(question), left_out(question)) == (topic, left)


def test_a_paper_whose_title_names_what_the_question_leaves_out_is_not_listed(sample_library):
    question = "Which papers run experiments on machine translation, not speech?"
    titles = [c.title for c in ask(sample_library, RelevanceJudge("translation"), question).citations]
    assert titles and not any("Speech" in title for title in titles)
    question = "Which papers build vision-language models (not the video ones)?"  # "the" leaves nothing out
    titles = [c.title for c in ask(sample_library, RelevanceJudge("vision"), question).citations]
    assert titles and not any("Video" in title for title in titles)


def test_a_topic_no_paper_covers_is_answered_not_abstained(sample_library):
    result = ask(sample_library, RelevanceJudge("protein"), "Which papers are about protein folding?")
    assert result.kind == LIST and not result.abstained and result.citations == ()
    assert re.fullmatch(r"None of the papers of \d{4}-\d\d-\d\d is about protein folding\.", result.text)


def test_a_recommendation_ranks_the_best_paper_first_and_says_why(sample_library):
    result = ask(sample_library, RelevanceJudge("BERT"), "Which paper would help me make BERT pretraining cheaper?")
    assert result.kind == RECOMMEND and result.citations[0].title == MOSAIC
    assert "why: “" in result.text.splitlines()[1]
    assert len(result.citations) <= 3


def test_compare_questions_resolve_the_named_methods(sample_library):
    named = named_papers(sample_library, "Compare the encoder-free vision-language models EVE and ENEL")
    assert [(name, paper.title) for name, paper in named] == [
        ("EVE", "Unveiling Encoder-Free Vision-Language Models"),
        ("ENEL", "Exploring the Potential of Encoder-free Architectures in 3D LMMs"),
    ]


def test_a_compare_question_resolves_only_the_papers_it_names(sample_library):
    question = "What separates JPQ from the CUR-decomposition method to speed up cross-encoder search?"
    titles = [paper.title for _, paper in named_papers(sample_library, question)]
    assert titles == ["Jointly Optimizing Query Encoder and Product Quantization to Improve Retrieval Performance",
                      "Efficient Nearest Neighbor Search for Cross-Encoder Models using Matrix Factorization"]


def test_compare_answers_quote_what_each_paper_does_and_what_the_question_asks(sample_library):
    question = "How do VideoGPT+ and TracksTo4D differ in how they process videos?"
    named = named_papers(sample_library, question)
    aspect = question_aspect(question, [name for name, _ in named])
    assert aspect == "process videos"
    for _, paper in named:
        quotes = what_it_does(sample_library, paper, aspect)
        assert 1 <= len(quotes) <= 2 and [i for i, _ in quotes] == sorted({i for i, _ in quotes})
        for index, quoted in quotes:
            assert sentences(paper.abstract)[index] == quoted and "github" not in quoted.lower()
        assert any("video" in quoted.lower() for _, quoted in quotes)
    videogpt = named[0][1]
    # "The model processes videos by …" speaks of the paper's own model: a sentence on what it does.
    assert any("adaptive pooling" in quoted for _, quoted in what_it_does(sample_library, videogpt, aspect))
    # "More complex encoder is not all you need" says little of what neU-Net does: its name says more.
    [(name, neunet)] = [pair for pair in named_papers(sample_library, "Compare neU-Net and WAU.") if pair[0] == "neU-Net"]
    (_, introduced), (_, how) = what_it_does(sample_library, neunet, "", name)
    assert "introduce neU-Net" in introduced and "wavelet inputs module" in how
    bare = named_papers(sample_library, "Compare EVE and ENEL.")
    assert question_aspect("Compare EVE and ENEL.", ["EVE", "ENEL"]) == ""
    # a question about nothing in particular: what the paper presents, and how its method works
    quoted = [text for _, text in what_it_does(sample_library, bare[1][1], "")]
    assert len(quoted) == 2 and all("%" not in text for text in quoted)
    assert any(re.search(r"\b(we|this paper) (propose|present|introduce)", text, re.IGNORECASE) for text in quoted)
    assert any("point cloud" in text for text in quoted)


def test_a_compare_quote_for_the_aspect_says_the_aspects_own_words(sample_library):
    question = "What pre-training objectives do M2-Encoder and LXMERT each use?"
    named = named_papers(sample_library, question)
    aspect = question_aspect(question, [name for name, _ in named], [paper.title for _, paper in named])
    quoted = {name: " ".join(text for _, text in what_it_does(sample_library, paper, aspect, name))
              for name, paper in named}
    # nearest in meaning alone, LXMERT's quote was its framework's aim, M2-Encoder's its dataset
    assert "pre-train the model with" in quoted["LXMERT"] and "contrastive loss" in quoted["M2-Encoder"]


@pytest.mark.parametrize(("question", "names", "titles", "aspect"), [
    # the words around a name that its title has name the paper too
    ("Compare TracksTo4D with the geometry-aware 3D GAN inversion encoder.", ["TracksTo4D", "GAN"],
     ["Fast Encoder-Based 3D from Casual Videos", "Self-Supervised Geometry-Aware Encoder for Style-Based 3D GAN Inversion"],
     ""),
    # a paper described instead of named: its title's run of words goes, what is asked stays
    ("How do JPQ and the dual-encoder paper for extreme multi-label classification differ in what they train?",
     ["JPQ", ""], ["Jointly Optimizing Query Encoder and Product Quantization", "Dual-Encoders for Extreme Multi-Label Classification"],
     "train"),
    # an aspect that one title also has, away from that paper's name, is still the aspect
    ("How does LXMERT's pre-training differ from SpeechT5's?", ["LXMERT", "SpeechT5"],
     ["LXMERT: Learning Cross-Modality Encoder Representations", "SpeechT5: Unified-Modal Encoder-Decoder Pre-Training"],
     "pre-training"),
    ("How does TextCraftor differ from Faster Diffusion?", ["TextCraftor", "Faster Diffusion"],
     ["TextCraftor: Your Text Encoder", "Faster Diffusion: Rethinking the Role of UNet Encoder"], ""),
])
def test_the_aspect_of_a_compare_question_leaves_out_what_names_the_papers(question, names, titles, aspect):
    assert question_aspect(question, names, titles) == aspect


def test_how_a_method_works_is_a_sentence_of_mechanism_not_of_results():
    texts = ["Retrieval is slow.", "We propose FastIR, an index for retrieval.",
             "FastIR-Encoder beats every baseline by 12% using a new loss and layers.",  # a result
             "It encodes queries with a shared encoder and trains the index jointly through a ranking loss.",
             "FastIR-Encoder, FastIR-Decoder."]  # only the name's words
    assert how_it_works(texts, range(5), 1, [1], "FastIR") == 3
    assert how_it_works(texts, [0, 1, 2, 4], 1, [1], "FastIR") is None
    assert how_it_works(texts, range(5), 4, [], "FastIR") is None  # nothing before the authors' first sentence


def test_a_name_said_before_the_authors_speak_is_not_what_their_paper_does(sample_library):
    [(name, paper)] = [pair for pair in named_papers(
        sample_library, "Compare TracksTo4D with the geometry-aware 3D GAN inversion encoder.") if pair[0] == "GAN"]
    quoted = what_it_does(sample_library, paper, "", name)
    assert quoted and not any(text.startswith("While studies over extending 2D StyleGAN") for _, text in quoted)
    own = next(i for i, text in enumerate(sentences(paper.abstract)) if text.startswith("In this paper, we study"))
    assert all(index >= own for index, _ in quoted)  # from where the authors first speak on


def test_a_compare_quotes_what_the_authors_propose_for_the_title(sample_library):
    question = "Compare the dual-encoder paper for extreme multi-label classification with the CUR decomposition approach."
    named = named_papers(sample_library, question)
    aspect = question_aspect(question, [name for name, _ in named], [paper.title for _, paper in named])
    [(name, paper)] = [pair for pair in named if pair[1].title == "Dual-Encoders for Extreme Multi-Label Classification"]
    quoted = [text for _, text in what_it_does(sample_library, paper, aspect, name)]
    # not only the sentence on what others' losses lack, which is closest to the title as it is
    assert any(text.startswith("We propose decoupled softmax loss") for text in quoted)


def test_question_files_take_a_kind_and_warn_about_unknown_fields(tmp_path, caplog):
    data = tmp_path / "questions.jsonl"
    data.write_text('{"id": "l", "question": "Which papers?", "papers": [], "kind": "list", "note": "x"}\n'
                    '{"id": "c", "question": "Compare A and B", "papers": ["A", "B"], "kind": "compare", '
                    '"answer_all": ["1"]}\n')
    with caplog.at_level(logging.WARNING):
        questions = load_questions(data)
    assert [(q.kind, q.answerable) for q in questions] == [(LIST, True), (COMPARE, True)]
    assert "ignored unknown field(s): note" in caplog.text


class _RecordingExtractor:
    """Extraction replies that state nothing (the cells fall back to the abstracts); logs each request."""

    name = "recording"

    def __init__(self, log: list[str]):
        self.log = log

    def generate(self, batch, *, max_new_tokens=256, stop=()):
        self.log.append("model")
        return ["Problem: not stated\nMethod: not stated\nData: not stated\nKey result: not stated"] * len(batch)

    def stream(self, messages, *, max_new_tokens=256, stop=()):
        yield from self.generate([messages])

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def test_a_compare_answer_shows_each_papers_own_sentences_before_the_model_runs(sample_library):
    log: list[str] = []
    events = []
    for event in ask_stream(sample_library, _RecordingExtractor(log), "Compare EVE and ENEL"):
        log.append(type(event).__name__)
        events.append(event)
    assert log.index("Token") < log.index("model"), log  # the papers' sentences come first, at once
    first = events[1].text.splitlines()
    assert [line.split(" (")[0] for line in first] == ["EVE", "ENEL"] and all("“" in line for line in first)
    answer = events[-1].result
    assert answer.kind == COMPARE and answer.comparison is not None
    assert answer.text == "".join(event.text for event in events if isinstance(event, Token))
    assert [c.number for c in answer.citations] == [1, 2]


def test_a_compare_answer_shows_a_name_as_the_papers_only_where_its_authors_gave_it(sample_library):
    question = "Compare TracksTo4D with the geometry-aware 3D GAN inversion encoder."
    result = ask(sample_library, _RecordingExtractor([]), question)
    first, second = result.text.splitlines()[:2]
    assert first.startswith("TracksTo4D (Fast Encoder-Based 3D from Casual Videos")  # "we present TracksTo4D"
    # "GAN" picks the paper out, but the authors built an encoder, not a GAN: the title stands alone
    assert second.startswith("Self-Supervised Geometry-Aware Encoder for Style-Based 3D GAN Inversion [2]")
    assert not any(line.startswith("GAN ") for line in result.text.splitlines())
