"""The answering sentence, quoted: for a small model an extractive answer often beats a generated one
(it restates the question, or takes a number from the wrong sentence). The sentence of the retrieved
passages closest to the question in meaning, with the question's rare words and the kind of thing it
asks for (a number for "how much", a name for "which model") as bonuses, is quoted and cited. Within the
paper a question is about, the words of its title don't count (they name the paper, not the answer)
unless the question has no other words ("What is LXMERT?"), nor do those of an opening clause that only
says which paper ("In the paper arguing that …, what …?"). Words are matched by their Porter stems
(`snowballstemmer`), so "validated" meets "validate" and "observations" "observe", which the index's
light suffix stemmer keeps apart.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import snowballstemmer

from index.text import points_at_code, query_terms
from service.ask_records import RESTATED, AskResult
from service.asked_measure import unstated_in
from service.citations import Citation, Passage, SourceSentence, marker_numbers
from service.figure_binding import COUNT_ADJECTIVES, COUNT_WORDS

_ASKS_NUMBER = re.compile(r"\b(how (?:much|many|fast|large|big|long|often)|what (?:\w+ )?(?:accuracy|score|rate|"
                          r"percentage|speed-?up|size|number|cost)|by what|how .* (?:faster|smaller|better))\b",
                          re.IGNORECASE)
_ASKS_NAME = re.compile(r"^\s*(?:which|what) (?:\w+ ){0,2}(?:model|method|approach|dataset|benchmark|loss|metric|"
                        r"paradigm|architecture|framework|technique|baseline|tasks?)\b", re.IGNORECASE)
# a quantity, not a digit inside a name ("3D", "R10@1", "Llama-2", "M^2"): "4,354", "55.0%", "4X", "7B", "20x", "-10B"
_NUMBER = re.compile(r"(?<![A-Za-z\d@^])\d+(?:[.,]\d+)*\s?[KMB]\b"  # a size, also in a name: "M2-Encoder-10B"
                     r"|(?<![A-Za-z\d@^-])\d+(?:[.,]\d+)*(?:\s?(?:%|x\b|×|times\b|-?fold\b))?(?![A-Za-z\d])",
                     re.IGNORECASE)
_NAME = re.compile(r"\b[A-Za-z]*[A-Z][a-z]*[A-Z0-9][\w\-]*")
_COUNT_WORD = re.compile(rf"\b(?:{'|'.join([*COUNT_WORDS, *COUNT_ADJECTIVES])})\b", re.IGNORECASE)
# "the U-Net paper arguing against …", "the authors": a question about one paper, called by what it is about
_ONE_PAPER = re.compile(r"\b(?:the|this|that)\s+(?:[\w'’-]+\s+){0,6}?(?:paper|study|article|authors)\b",
                        re.IGNORECASE)
# "In the paper arguing that a more complex encoder is not needed …, what operation does the decoder use for
# upsampling?": the opening clause says which paper, as a title would; the clause after it what is asked.
_PREMISE = re.compile(r"^(?:in|for|from|according to|within) (?:the|this|that) (?:[\w'’-]+ ){0,4}?"
                      r"(?:paper|work|study|article|method|approach|model|framework|system|analysis)\b"
                      r"[^?]*?,\s*(?P<ask>[^,]+)$", re.IGNORECASE)
LEXICAL_WEIGHT = 0.5  # the question's words found in the sentence, as a share, against its dense cosine
# Within the paper, the question's own words count for more: which of its sentences answers is more a
# matter of the words asked about than of closeness in meaning, which a question that calls the paper by
# what it is about spends on the paper (docs/BENCHMARKS.md, session 31). Not in the score a quote alone
# must reach, which is calibrated without it.
OWN_WORDS_EXTRA = 0.2
SHAPE_BONUS = 0.15  # the sentence holds what the question asks for (a number, a name it doesn't already say)
# Alone (the model's answer did not stand), a quote must score this much: on the tuned question set the
# off-topic questions' best sentences scored at most 0.70, answerable ones from 0.74 (docs/BENCHMARKS.md).
QUOTE_ALONE_MIN = 0.72
# Where the model cited a paper but only said the question back, it took the question to be answered there:
# that paper's sentence is quoted from a lower score when it says at least half of the words asked about.
# On the seen fact sets, such quotes said 4 of 7 and 7 of 9 where they answered, at most 1 of 3 where the
# question had no answer, which scored up to 0.67 ("Which university are the authors of TracksTo4D from?":
# the sentence naming TracksTo4D; docs/BENCHMARKS.md, session 33).
QUOTE_AFTER_RESTATEMENT_MIN = 0.6
RESTATED_WORDS_SAID = 0.5
_STEMMERS = threading.local()  # a Snowball stemmer keeps state while it stems: one per thread


@dataclass(frozen=True)
class Quote:
    passage: Passage
    sentence: SourceSentence
    score: float
    asked_said: float = 0.0  # the share of the words asked about (beyond the paper's title) the sentence says


def answering_sentence(library, question: str, passages: Sequence[Passage]) -> Quote | None:
    """The passages' sentence that most likely answers the question: the paper of the best-scoring
    sentence, and of that paper's sentences the best once its title's words no longer count."""
    links = points_at_code(question)  # a sentence pointing at code answers only a question about code
    candidates = [(p, s) for p in passages for s in p.sentences if links or not points_at_code(s.text)]
    if not candidates:
        return None
    vectors = np.asarray(library.embedder.embed_batch([s.text for _, s in candidates]))
    question_vector = np.asarray(library.searcher.query_vector(question))
    asked = porter_stems(question)
    stems = {s.text: porter_stems(s.text) for _, s in candidates}  # each sentence's, stemmed once
    titles = _title_words(passages)
    # across papers, title words pick the paper ("today's speech models": SpeechT5's "spoken language")
    wanted = asked - titles[passages[0].paper.id] or asked if len(titles) == 1 else asked
    scored = [Quote(p, s, float(v @ question_vector) + LEXICAL_WEIGHT * word_share(wanted, stems[s.text])
                    + SHAPE_BONUS * _has_shape(question, s.text))
              for (p, s), v in zip(candidates, vectors, strict=True)]
    # asked for a figure, a sentence with none can't answer, however close in meaning: the bonus alone let
    # bf16 and fp32 embeddings pick different sentences ("How much does … speed up DeepFloyd-IF sampling?")
    figures = [quote for quote in scored if states_figure(quote.sentence.text)] if asks_figure(question) else []
    # and of those, one that states what is asked ("four fine-tuned models" for "how many … models") beats a
    # closer one with another figure, which would not be quoted alone
    stating = [quote for quote in figures
               if not unstated_in(question, quote.sentence.text, quote.passage.paper.title)]
    pool = stating or figures or scored
    paper_id = max(pool, key=lambda quote: quote.score).passage.paper.id
    # within the paper a question is about, its title words only tell it from others ("What is LXMERT?": the
    # sentences naming it answer); a question about a topic ("Which spoken language tasks do today's speech
    # models cover?") may ask for what a title says
    premise = _premise_words(question)  # "In the work proposing …, what …?" is about one paper too
    about_one = len(titles) == 1 or _ONE_PAPER.search(question) or premise
    beyond_title = asked - titles[paper_id] - premise or asked - titles[paper_id] or asked
    own = beyond_title if about_one else wanted

    def within_paper(quote: Quote) -> float:
        said = stems[quote.sentence.text]
        own_words = (LEXICAL_WEIGHT + OWN_WORDS_EXTRA) * word_share(own, said)
        return quote.score + own_words - LEXICAL_WEIGHT * word_share(wanted, said)

    best = max((quote for quote in pool if quote.passage.paper.id == paper_id), key=within_paper)
    return replace(best, asked_said=word_share(beyond_title, stems[best.sentence.text]))


def which_paper_clause(question: str) -> tuple[str, str]:
    """(the opening clause that only says which paper, the question asked after it), or ("", question)."""
    text = " ".join(question.split())
    premise = _PREMISE.match(text)
    return (text[: premise.start("ask")], premise["ask"]) if premise else ("", text)


def _premise_words(question: str) -> set[str]:
    """The words only of the clause that says which paper the question is about."""
    premise, asked = which_paper_clause(question)
    return porter_stems(premise) - porter_stems(asked) if premise else set()


def _title_words(passages: Sequence[Passage]) -> dict[str, set[str]]:
    """Each paper's title words. They tell which paper, not which of its sentences answers: "the U-Net
    paper arguing against more complex encoders" favoured "most current U-Net variants … more complex
    encoder" over the paper's sentence giving the reason asked for; "the encoder-free 3D LMM" favoured
    "we present the first Encoder-free 3D LMM, ENEL" over its sentence with the VQA score."""
    titles = {passage.paper.id: porter_stems(passage.paper.title) for passage in passages}
    return {paper_id: title | {word.removesuffix("s") for word in title}  # "LMMs" names what "LMM" does
            for paper_id, title in titles.items()}


def word_share(wanted: set[str], stems: set[str]) -> float:
    """The share of the `wanted` stems that `stems` holds (0 when nothing is wanted)."""
    return len(wanted & stems) / len(wanted) if wanted else 0.0


def porter_stems(text: str) -> set[str]:
    """The Porter stems of the text's query terms: on every fact set, replayed offline, they pick the
    answering sentence at least as often as the light stemmer (docs/BENCHMARKS.md, session 32)."""
    if not hasattr(_STEMMERS, "porter"):
        _STEMMERS.porter = snowballstemmer.stemmer("porter")
    return set(_STEMMERS.porter.stemWords(query_terms(text)))


def _has_shape(question: str, sentence: str) -> bool:
    if asks_figure(question):
        return states_number(sentence)
    if _ASKS_NAME.search(question):
        return bool(set(_NAME.findall(sentence)) - set(_NAME.findall(question)))
    return False


def asks_figure(question: str) -> bool:
    """Whether the question asks for a figure ("how many …", "what speedup …", "by what margin …")."""
    return bool(_ASKS_NUMBER.search(question))


def states_number(sentence: str) -> bool:
    """A quantity in digits ("4.8 times", "55.0%", "7B"), not a digit inside a name ("3D", "R10@1")."""
    return bool(_NUMBER.search(sentence))


def states_figure(sentence: str) -> bool:
    """A number or a count in words ("two publicly available retrieval benchmarks", "dual paths")."""
    return states_number(sentence) or bool(_COUNT_WORD.search(sentence))


def stands_alone(result: AskResult, quote: Quote) -> bool:
    """Whether the quote scores as one that answers, to stand in place of the model's answer: the bar is
    lower where the model cited the quote's paper and only said the question back, if the quote says
    most of what was asked about."""
    if quote.score >= QUOTE_ALONE_MIN:
        return True
    restating = result.reason == RESTATED and quote.passage.number in marker_numbers(result.raw_answer)
    return restating and quote.score >= QUOTE_AFTER_RESTATEMENT_MIN and quote.asked_said >= RESTATED_WORDS_SAID


def with_quote(result: AskResult, quote: Quote) -> AskResult:
    """The answer with the answering sentence quoted after it (alone, when the model's answer did not
    stand), cited to its passage. When the model's answer cites one paper and the sentence comes from
    another, they answer about different papers: only the one from the better-retrieved paper stays."""
    number = quote.passage.number
    quoted = f"“{quote.sentence.text}” [{number}]"
    citations = list(result.citations)
    if not any(c.number == number for c in citations):
        paper = quote.passage.paper
        citations.append(Citation(number, paper.id, paper.title, paper.url, (quote.sentence.index,),
                                  (quote.sentence.text,), round(quote.score, 2)))
    cited = {c.number for c in result.citations}
    if not result.abstained and len(cited) == 1 and number not in cited:
        [other] = cited
        if other < number:
            return replace(result, notes=(*result.notes, f"the answering sentence found in [{number}] is left out: "
                                                         f"the answer is about [{other}], retrieved first"))
        kept = tuple(c for c in citations if c.number == number)
        return replace(result, text=f"From the paper: {quoted}", citations=kept,
                       notes=(*result.notes, f"the model's answer about [{other}] is left out: the answering "
                                             f"sentence comes from [{number}], retrieved first"))
    if result.abstained and not stands_alone(result, quote):
        return result
    if result.abstained and (why := unstated_in(result.question, quote.sentence.text, quote.passage.paper.title)):
        return replace(result, notes=(*result.notes, f"the closest sentence is not quoted: {why}"))
    if result.abstained:
        return replace(result, text=f"From the paper: {quoted}", citations=tuple(citations), abstained=False,
                       reason="", notes=(*result.notes, "the model's answer did not stand; the answering sentence is quoted"))
    if quote.sentence.text in result.text:
        return result
    return replace(result, text=f"{result.text} From the paper: {quoted}", citations=tuple(citations))
