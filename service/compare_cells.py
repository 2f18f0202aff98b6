"""Comparison cells traced to the abstract: a model's phrase is kept only with a supporting sentence
(and every number it states found in the abstract); otherwise the cell is the abstract's own sentence
with the most cues for the field, or "not stated"."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.models import Paper
from index.text import points_at_code, query_terms, sentences, stem
from service.citations import distinctive_tokens, figures_unfit, missing_in
from service.tldr_checks import states_result

NOT_STATED = "not stated"
MIN_SUPPORT = 0.5  # share of a phrase's content words that must occur in its best abstract sentence…
SPREAD_SUPPORT = (0.3, 0.8)  # …or this share there and this share in the whole abstract (lists span sentences)
MAX_PHRASE_WORDS = 25
NOT_STATED_REPLY = re.compile(r"^(not (stated|mentioned|specified|given|reported)|none|n/?a|unknown|-+)\.?$", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_STOP_WORDS = ("a an and are as at be by for from has have in into is it its of on or our that the their this to "
               "using via we which with while paper propose proposed present show novel new based approach method model")
_FIELD_SHAPE = {
    "data": re.compile(r"\b(?:data(?:sets?)?|benchmarks?|corp(?:us|ora)|collections?|hours|images|videos|clips|"
                       r"samples|pairs|tokens|questions|sentences|documents|examples|annotations|scans|recordings|"
                       r"point clouds|languages|tasks)\b|(?<![\w-])\d", re.IGNORECASE),
    # an outcome, not a quality the method is built for: "more efficient", not "is made efficient with CUR"
    "result": re.compile(r"(?<![\w-])\d|\b(?:outperform|achiev|state-of-the-art|improv|surpass|better|faster|speed|"
                         r"reduc|higher|lower|fewer|less|more|gains?|rivals?|matches|comparable|competitive|superior|"
                         r"cheaper|(?:more|highly|significantly|greatly)\s+(?:robust|effective|accura|efficien))",
                         re.IGNORECASE),
}
# An aim, not an outcome: "hoping to improve …", "in order to reduce …" (a result cue after it counts for nothing).
_AIM = re.compile(r"\b(?:hop(?:e|es|ing)|aim(?:s|ed|ing)?|in order|so as|intend(?:s|ed)?|seek(?:s|ing)?)\s+to\s+\w+",
                  re.IGNORECASE)
# Sentences in which the authors say what they did ("we propose", "our model", "the proposed method", "The
# model processes …"). Those an abstract opens with before the first are about the field, not the paper:
# its data and results are never taken from them.
AUTHORED = re.compile(r"\b(?:we|our|this (?:paper|work|study)|(?:the )?proposed)\b"
                      r"|^(?:the|this) (?:model|method|approach|framework|architecture|system)\b", re.IGNORECASE)
_OWN_WORK_FIELDS = ("data", "result")
# A sentence about other people's work ("Current approaches … require long optimization"): not this paper's
# data or result, wherever it stands.
_OTHERS_WORK = re.compile(r"^(?:however,\s+)?(?:most\s+|many\s+)?(?:current|existing|previous|prior|conventional|"
                          r"traditional)\s+(?:[\w-]+\s+){0,3}?(?:approaches|methods|works|studies|models|systems|"
                          r"techniques|solutions|frameworks|efforts)\b", re.IGNORECASE)
_COMPARATIVE = re.compile(r"^(?:more|less|fewer|rather|other|\w{3,}er)$", re.IGNORECASE)
# A phrase that introduces the paper's work instead of stating what it achieved.
_INTRODUCES = re.compile(r"^(?:we\s+)?(?:launch|present|introduce|propose|develop|build|design)(?:s|d|ed)?\b", re.IGNORECASE)
# A statement of an outcome: a data cell that says one ("our model achieves the best results on two VQA
# datasets") holds a result, and only its data span ("two VQA datasets (i.e., VQA and GQA)") is data.
_OUTCOME = re.compile(r"\b(?:outperform|achiev|improv|surpass|showcas|rival|demonstrat|obtain|lead(?:s|ing)? to|"
                      r"show(?:s|ed|n)? (?:that|the)|is effective|are effective)", re.IGNORECASE)
# A sentence saying what the work was trained or tested on ("We evaluate JPQ on two … benchmarks").
_TESTED_ON = re.compile(r"\b(?:evaluat|train|test|experiment|validat|benchmark)\w*\b.{0,60}?\b(?:on|using|across)\b",
                        re.IGNORECASE)
_DATA_NOUN = re.compile(r"\b(?:data(?:sets?)?|benchmarks?|corp(?:us|ora))(?:\s+(?:data(?:sets?)?|benchmarks?))*\b",
                        re.IGNORECASE)
# Where a data span starts (the word before it) and ends (what follows it).
_SPAN_START = frozenset("on in of from with using across over to by at for that show shows showed demonstrate "
                        "experiments results evaluate evaluated trained tested".split())
# A clause's leading joiner or discourse word, which a cell read alone doesn't need ("and improve …").
_LEADING_JOINER = re.compile(r"^(?:(?:and|but|or|while|whereas|notably|moreover|furthermore|additionally|also|"
                             r"specifically|finally|in addition)\b,?\s+)+", re.IGNORECASE)
# Words that don't say which data: "multiple benchmarks", "quantitative benchmarks" are near-misses.
_UNSPECIFIC = frozenset("the a an every all each several multiple various many some most other these those "
                         "quantitative qualitative extensive standard diverse different challenging popular "
                         "existing common widely-used large-scale real-world".split())
_SPAN_END = re.compile(r",?\s+(?:while|when|where|which|that|compared|with|without|using|utilizing|for|"
                       r"and (?:we|our|it|the (?:model|method))|to|by|show|shows|showed|demonstrat\w*|outperform\w*|"
                       r"achiev\w*)\b|[.;]|$", re.IGNORECASE)
# Words that may join the names in a data cell made of names only ("Synapse and ACDC", "VQA, GQA").
_NAME_JOINERS = frozenset("and or the of on including e.g. i.e. both".split())
UNINFORMATIVE_WORDS = frozenset(_STOP_WORDS.split())  # words that say nothing about what a paper did
# Words a summary joins or contrasts papers with: no fact of either.
_JOINT_WORDS = frozenset("both they differ instead also no not more less most than".split())
_CUES = {
    "problem": re.compile(r"\b(challeng|problem|remain|limit|lack|difficult|suffer|issue|bottleneck|however|"
                          r"costly|expensive|struggl|fail|open question)", re.IGNORECASE),
    # what the authors did ("we propose"), not what they found or believe ("we show", "we believe")
    "method": re.compile(r"\b(we (?!show|find|prove|observe|demonstrate|achieve|believe|hope|expect|envision|"
                         r"anticipate|argue|think|conclude)[a-z]+|this (paper|work) [a-z]+s\b|"
                         r"our (method|approach|model|framework)|novel|framework|architecture)", re.IGNORECASE),
    "data": re.compile(r"\b(dataset|benchmark|corpus|corpora|evaluated on|experiments on|trained on)"
                       # "On LibriSpeech", "on VQAv2"; not "on CPU"
                       r"|(?-i:\b[Oo]n (?=[A-Z][\w\-]*[a-z])[A-Z][a-z]*[A-Z0-9][\w\-]*)", re.IGNORECASE),
    "result": re.compile(r"\b(outperform|achiev|state-of-the-art|improv|surpass|superior|rival|results (show|demonstrate)|"
                         r"speed-?up|faster|reduc|prove|show that|find that|lead(?:s|ing)? to)|\d+(\.\d+)?\s?(%|x\b|×)",
                         re.IGNORECASE),
}


@dataclass(frozen=True)
class Cell:
    text: str
    sentence_index: int | None  # the supporting sentence in split_sentences(abstract); None = not stated
    supported: bool  # the text is backed by that sentence
    origin: str  # "model" (validated phrase), "extractive" (abstract text), "none" (not stated)


def content_words(text: str) -> set[str]:
    return {stem(word) for word in query_terms(text) if word not in UNINFORMATIVE_WORDS}


def borrowed_words(claim: str, paper: Paper, elsewhere: str) -> list[str]:
    """Content words of the claim that the paper's title and abstract never use, not even as a word of the
    same stem's first six letters ("reconstruction" ~ "reconstructing"), but `elsewhere` (the other
    compared papers' cells, which the summary was written from) does: another paper's fact said of this
    one ("[A] and [B] both fine-tune … in Turkish" where only [A] is about Turkish)."""
    own = _prefixes(f"{paper.title} {paper.abstract}")
    there = _prefixes(elsewhere)
    said = content_words(claim) - _JOINT_WORDS - UNINFORMATIVE_WORDS
    return sorted(word for word in said if word[:6] not in own and word[:6] in there)


def _prefixes(text: str) -> set[str]:
    return {word[:6] for word in content_words(text)}


def best_sentence(phrase: str, sentences: Sequence[str]) -> tuple[int | None, float]:
    """The sentence sharing the largest share of the phrase's content words, and that share."""
    words = content_words(phrase)
    if not words or not sentences:
        return None, 0.0
    scores = [len(words & content_words(sentence)) / len(words) for sentence in sentences]
    best = max(range(len(scores)), key=lambda index: scores[index])
    return best, scores[best]


# A phrase's length bound under the extraction schema: a 25-word phrase fits; the bound also ends the
# small model's repetition loops. A phrase this long was cut by it, often mid-word or mid-clause.
PHRASE_CHARS = 160
_CUT_TAIL = re.compile(r"(?:[\s,;:(\-]+|\b(?:when|while|where|and|or|but|of|the|a|an|to|in|on|for|by|with|as|at|"
                       r"from|between|than|that|which|its|their|is|are)\b)+$", re.IGNORECASE)


def uncut(phrase: str | None, abstract: str) -> str | None:
    """A phrase the length bound cut ("… in terms of compression effic"), ended at its last whole word
    of the abstract and last content word, with "…"; other phrases as they are."""
    if phrase is None or len(phrase) < PHRASE_CHARS - 1:
        return phrase
    words = phrase.split()
    if words and not re.search(rf"(?<!\w){re.escape(words[-1])}(?!\w)", abstract):
        words = words[:-1]  # the bound fell inside this word
    text = _CUT_TAIL.sub("", " ".join(words))
    return f"{text}…" if text else phrase


def trace_cell(field: str, phrase: str | None, abstract: str, taken: set[int] = frozenset(),
               title: str = "") -> Cell:
    """The model's phrase with its supporting sentence, or extractive text when it has too little support."""
    found = sentences(abstract)
    phrase = uncut(phrase, abstract)
    if phrase and field == "data":
        phrase = as_data(phrase)
    eligible = _eligible(field, found)
    if phrase and not NOT_STATED_REPLY.match(phrase) and not _restates_title(field, phrase, title):
        index, support = best_sentence(phrase, eligible)
        # Numbers and names are what a small model invents (or copies from the prompt's example) most:
        # each must appear in the paper.
        numbers_ok = set(_NUMBER.findall(phrase)) <= set(_NUMBER.findall(abstract))
        names_ok = not missing_in(distinctive_tokens(phrase), f"{title} {abstract}")
        figures_ok = not figures_unfit(phrase, Paper(id="", title=title, abstract=abstract, source=""))
        spread = support >= SPREAD_SUPPORT[0] and best_sentence(phrase, [abstract])[1] >= SPREAD_SUPPORT[1]
        if (index is not None and (support >= MIN_SUPPORT or spread) and numbers_ok and names_ok and figures_ok
                and of_its_field(field, phrase) and not _from_background(phrase, found, eligible, support)):
            text = with_its_amount(phrase, eligible[index]) if field == "data" else phrase
            return Cell(_LEADING_JOINER.sub("", text), index, True, "model")
    return extractive_cell(field, found, taken)


# An amount said right before a phrase: "35M" of "35M publicly accessible data", "180k hours of" ….
_AMOUNT_BEFORE = re.compile(r"(?:\d+(?:[.,]\d+)*\s?[KMBkmb]?\+?(?:\s+(?:hours|minutes|days)\s+of)?)\s+$")


def with_its_amount(phrase: str, sentence: str) -> str:
    """A data phrase with the amount its sentence gives right before it: the model wrote "publicly
    accessible data" of "solely utilizing 35M publicly accessible data", and the amount is the point."""
    at = sentence.lower().find(phrase.lower())
    amount = _AMOUNT_BEFORE.search(sentence[:at]) if at > 0 else None
    return f"{amount.group(0)}{phrase}" if amount else phrase


def _restates_title(field: str, phrase: str, title: str) -> bool:
    """A method cell made of the title's words only ("unveiling encoder-free vision-language models")
    says nothing the row's heading doesn't."""
    words = content_words(phrase)
    return field == "method" and bool(title) and bool(words) and words <= content_words(title)


def _from_background(phrase: str, found: Sequence[str], eligible: Sequence[str], support: float) -> bool:
    """Whether a phrase comes from a sentence its field may not come from (the background, other people's
    work): that sentence supports it better than the best it may come from (`support`)."""
    index, best = best_sentence(phrase, found)
    return index is not None and not eligible[index] and best > support


def of_its_field(field: str, phrase: str) -> bool:
    """Whether a phrase is the kind of thing its column holds: data names data (a dataset, benchmark or
    corpus, an amount, or only names: "Synapse and ACDC"); a key result states an outcome or a number.
    Near-misses ("the convolutional neural network and Transformer architectures", "LMMs, image
    encoders, video encoders" as data; a rival's name "ShapeLLM-13B" or an aim, "hoping to improve
    the modeling", as a result) are not kept."""
    shape = _FIELD_SHAPE.get(field)
    if field == "result" and (_INTRODUCES.match(phrase) or _names_only(phrase) or _dangling_than(phrase)):
        # what the paper is ("launch EVE, a model that …"), a bare list ("ShapeLLM-13B, 55.0%"), or a garbled
        # comparison ("reduces computational cost than training …": "than" with nothing comparative before it)
        return False
    if shape is None or shape.search(_without_aims(phrase) if field == "result" else phrase):
        return True
    return field == "data" and _names_only(phrase)


def _dangling_than(phrase: str) -> bool:
    """A "than" with no comparative ("cheaper", "more", "fewer") in the six words before it."""
    words = [word.strip(",;:()").lower() for word in phrase.split()]
    return any(word == "than" and not any(_COMPARATIVE.match(w) for w in words[max(0, i - 6):i])
               for i, word in enumerate(words))


def data_span(text: str) -> str | None:
    """The part of a sentence that names data: the words before a data noun back to where the phrase
    starts, with what names it after ("(i.e., VQA and GQA)", ", including VCGBench and MVBench")."""
    noun = _DATA_NOUN.search(text)
    if noun is None:
        return None
    before = text[:noun.start()].split()
    start = len(before)
    while start > 0 and len(before) - start < 16 and before[start - 1].lower().strip(",") not in _SPAN_START:
        start -= 1
    after = text[noun.end():]
    named = re.match(r"\s*\([^)]*\)|,?\s+(?:including|such as|like|of|e\.g\.,?|i\.e\.,?)\s+", after)
    if named and named.group(0).lstrip().startswith("("):
        tail = named.group(0)
    elif named:
        tail = after[:_SPAN_END.search(after, named.end()).start()]
    else:
        tail = ""
    span = " ".join([*before[start:], text[noun.start():noun.end()] + tail]).strip(" ,;:")
    says_which = tail or [w for w in before[start:] if w.lower() not in _UNSPECIFIC]
    return span if says_which else None


def as_data(text: str) -> str | None:
    """The text as a data cell: when it states an outcome, only the data it names, or None when it names
    none; when it says what the work was trained or tested on ("We evaluate JPQ on two … benchmarks"), the
    data it names if it names some; else the text as it is (the column's own check follows)."""
    if _OUTCOME.search(text):
        return data_span(text)
    if _TESTED_ON.search(text):
        return data_span(text) or text
    return text


def _names_only(phrase: str) -> bool:
    words = [word.strip(",;:()") for word in phrase.split()]
    return any(words) and all(not word or word.lower() in _NAME_JOINERS or word[0].isupper() or
                              any(ch.isdigit() for ch in word) for word in words)


def extractive_cell(field: str, sentences: Sequence[str], taken: set[int] = frozenset()) -> Cell:
    """The sentence with the most cues for the field (early for problems, late for results; stating a
    result's numbers counts twice), shortened."""
    said = [_without_aims(sentence) if field == "result" else sentence for sentence in sentences]

    def score(index: int) -> float:
        cues = len(_CUES[field].findall(said[index]))
        if field == "result" and states_result(sentences[index]):
            cues += 2
        position = index / max(1, len(sentences) - 1)
        prior = {"problem": 1 - position, "result": position}.get(field, 0.0)
        return cues + 0.5 * prior - (2 if index in taken else 0)
    eligible = _eligible(field, sentences)
    scored = [(score(i), i) for i in range(len(sentences))
              if eligible[i] and _CUES[field].search(said[i]) and not points_at_code(sentences[i])]
    if not scored:
        return Cell(NOT_STATED, None, False, "none")
    _, index = max(scored, key=lambda pair: (pair[0], -pair[1]))
    if field == "data":  # a result sentence gives only the data it names, or no cell
        text = as_data(sentences[index])
        if text is None:
            return Cell(NOT_STATED, None, False, "none")
        return Cell(_LEADING_JOINER.sub("", _shorten(text, _CUES[field], text)), index, True, "extractive")
    return Cell(_LEADING_JOINER.sub("", _shorten(sentences[index], _CUES[field], said[index])), index, True,
                "extractive")


def _without_aims(text: str) -> str:
    """The text with its aims ("hoping to improve …") blanked out, the same length."""
    return _AIM.sub(lambda aim: " " * len(aim.group(0)), text)


def background_sentences(found: Sequence[str]) -> int:
    """How many sentences open the abstract before the authors first speak (0 when they never do)."""
    return next((i for i, sentence in enumerate(found) if AUTHORED.search(sentence)), 0)


def _eligible(field: str, found: Sequence[str]) -> list[str]:
    """The sentences a cell of this field may come from ("" for those it may not)."""
    if field not in _OWN_WORK_FIELDS:
        return list(found)
    skip = background_sentences(found)
    return ["" if i < skip or _OTHERS_WORK.match(sentence) else sentence for i, sentence in enumerate(found)]


def _shorten(sentence: str, cue: re.Pattern, searched: str, limit: int = MAX_PHRASE_WORDS) -> str:
    """The sentence, or the clause with the cue (found in `searched`, the sentence as scored) and what
    follows it, cut to `limit` words."""
    words = sentence.split()
    if len(words) <= limit:
        return sentence
    match = cue.search(searched)
    comma = sentence.rfind(", ", 0, match.start()) if match else -1
    clause = sentence[comma + 2 if comma >= 0 else 0 :].split()
    return " ".join(clause[:limit]).rstrip(",;:.") + ("…" if len(clause) > limit else "")
