"""What a quantity question asks for, and whether a paper names it at all.

"How many parameters does EVE have?", "What FID score does TextCraftor get on COCO?", "What batch
size was used to train JPQ?": when no candidate paper ever names the measure asked for (parameters,
FID, batch size), none can state its value, however close its sentences look. The small model
answered such questions with another of the paper's numbers ("35M … data" for a parameter count), and
the citation checks pass that: the number is in the cited paper. So the question is settled in code,
before the model runs, and again on the papers the answer cites.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from index.models import Paper
from index.text import STOPWORDS
from service.citations import strip_markers
from service.figure_binding import COUNT_ADJECTIVES, COUNT_WORDS, figure_measures, measures_named
from service.figure_roles import LEVEL, percent_roles

# "how many GPUs", "how many of the languages"
_HOW_MANY = re.compile(r"\bhow\s+many\s+(?:of\s+)?(?:the\s+|its\s+|their\s+)?(?P<noun>[^\W\d_][\w-]*)", re.I)
# "what FID score", "what is the word error rate", "what batch size": the words naming the measure
_WHAT_MEASURE = re.compile(
    r"\bwhat(?:\s+(?:is|was|are|were))?(?:\s+(?:the|its|their))?\s+"
    r"(?P<qualifier>(?:(?!(?:the|a|an|its|their)\s)[^\W\d_][\w-]*\s+){0,2})"
    r"(?P<head>scores?|rates?|sizes?|accuracy|latency|throughput|perplexity|precision|recall|error)\b", re.I)
# words after "how many" that are not what is counted ("how many times faster", "how many more"),
# its unit or the unit's kind ("how many (absolute) points above …": a percentage), or a generic whole
# an abstract enumerates without the word ("Into how many parts is … divided?": "… into feature
# regression and label classification")
_NOT_COUNTED = STOPWORDS | {"more", "fewer", "less", "times", "other", "different", "such", "did", "were",
                            "point", "points", "percent", "percentage", "absolute", "relative",
                            "part", "parts", "stage", "stages", "step", "steps", "phase", "phases",
                            "component", "components", "kind", "kinds", "type", "types", "way", "ways",
                            "aspect", "aspects", "category", "categories"}
# words before a head that don't say which measure ("what overall score", "what top-1 accuracy")
_GENERIC = frozenset({"overall", "final", "average", "best", "main", "reported", "exact", "typical", "total"})
# measures named by two words side by side: "learning" alone is in every abstract
_TERMS = frozenset({"learning rate", "batch size", "error rate", "frame rate", "sampling rate", "dropout rate",
                    "hidden size", "vocabulary size", "model size", "beam size", "mask rate", "masking rate"})
# how papers name some measures without the word: a parameter count or a model size is "a 7B model"
_SIZED_MODEL = re.compile(r"\b\d+(?:\.\d+)?\s?[BM]\b[\s-]+(?:[\w-]+[\s-]+)?(?:model|LLM|LMM|network)", re.I)
_NAMED_ALSO = {"parameter": _SIZED_MODEL, "model_size": _SIZED_MODEL}


def asked_measures(question: str) -> tuple[str, ...]:
    """The words naming each quantity the question asks for, lower-cased and singular; () when it
    asks for none this module can read ("How much faster …" has no noun to look for). A measure is
    named when all its words are (a fixed term such as "learning rate" as written)."""
    asked: list[str] = []
    for match in _HOW_MANY.finditer(question):
        noun = match["noun"].lower()
        if noun not in _NOT_COUNTED:
            asked.append(_singular(noun))
    for match in _WHAT_MEASURE.finditer(question):
        words = [w.lower() for w in match["qualifier"].split() if w.lower() not in STOPWORDS | _GENERIC]
        head = match["head"].lower()
        if words and f"{words[-1]} {_singular(head)}" in _TERMS:
            words[-1] = f"{words[-1]}_{_singular(head)}"
        if words:  # a bare "what accuracy" names nothing to look for: papers give accuracies as bare figures
            asked.append(" ".join(_singular(w) for w in words))
    return tuple(dict.fromkeys(asked))


def names_measure(paper: Paper, measure: str) -> bool:
    """Whether the paper's title or abstract names every word of the measure (each as a word start;
    a fixed term's words side by side)."""
    text = f"{paper.title} {paper.abstract}"
    also = _NAMED_ALSO.get(measure)
    if also is not None and also.search(text):
        return True
    return all(re.search(r"\b" + r"\w*[\s-]+".join(re.escape(_start(w)) for w in word.split("_")), text, re.I)
               for word in measure.split())


def unstated_measures(question: str, papers: Iterable[Paper]) -> tuple[str, ...]:
    """The question's asked measures when none of them is named by any of the papers, else ()."""
    asked, papers = asked_measures(question), list(papers)
    if not asked or any(names_measure(paper, measure) for paper in papers for measure in asked):
        return ()
    return asked


# a count before what is counted, up to three words apart: "five crowd counting datasets", "8 A100 80 GB GPUs",
# "dual paths", "a single, unified self-attention mechanism"; or the whole or nothing of it ("all the encoder
# layers", "almost negligible additional parameters"), which answers "how many" too
_COUNT = (rf"(?:\d+(?:[.,]\d+)*\s?[KMB]?|{'|'.join(['one', *COUNT_WORDS, *COUNT_ADJECTIVES])}|"
          r"dozens|hundreds|thousands|millions|billions|all|every|both|no|zero|negligible)")
# a question asking how a figure changed, not what it is ("by what margin", "how much faster")
_ASKS_CHANGE = re.compile(r"\b(?:by\s+(?:what|how)|how\s+much\s+\w+er\b|improve|gain|margin|speed-?up|reduc|cut|"
                          r"increase|decrease|boost|faster|slower|drop)", re.I)
# a question asking what a score is: "what absolute R10@1 score", "what accuracy does … reach"; not "what
# upper-bounds the accuracy" (a determiner after the first words: the measure is what's acted on, not asked for)
_ASKS_SCORE = re.compile(r"\bwhat\s+(?:(?:is|was|are|were|the|its|their)\s+)*"
                         r"(?:(?!(?:the|a|an|its|their)\s)\S+\s+){0,3}?"
                         r"(?:scores?|accuracy|accuracies|rates?|perplexity|precision|recall|error)\b", re.I)
# a figure that is neither a percentage nor a ratio nor part of a name ("a GLUE score of 79.6")
_PLAIN_FIGURE = re.compile(r"(?<![\w.@^-])\d+(?:\.\d+)?(?![\w%×]|\.\d|\s*(?:%|×|x\b|times\b|-?fold\b|percent\b))",
                           re.I)

# A model's size, said after its name ("MosaicBERT-large", "BERT base and large"; a name has two capitals
# or a digit, so "The large" is no name) or before "model" ("this base model"; not "a large language model").
_SIZES = "(?i:base|large|small|tiny|mini|medium|huge|giant|xl|xxl)"
_VARIANT_WORD = re.compile(rf"\b{_SIZES}\b")
_VARIANT = re.compile(
    rf"(?:\b[\w.]+-|\b[A-Za-z]*[A-Z][A-Za-z]*[A-Z0-9][\w.]*\s+)(?:{_SIZES})\b(?:\s*(?:,|and|or|/)\s*(?:{_SIZES})\b)*"
    rf"|\b(?:{_SIZES})(?:\s*(?:,|and|or|/)\s*(?:{_SIZES}))*[\s-]+(?i:models?|variants?|versions?|configurations?)\b")

def unstated_in(question: str, text: str, title: str = "") -> str | None:
    """Why a sentence quoted alone does not state the quantity the question asks for, or None: "how many
    bridge layers" with no count of bridge layers ("multiple bridge layers"), a score asked for where
    the sentence gives only changes ("improves R10@1 by 2.9%, … 4X faster"), one size of a model asked
    about where the sentence speaks of another ("MosaicBERT-large" / "this base model"), or a cut in
    FLOPs asked for where its figures measure latency."""
    text = strip_markers(text)  # "[1]" states no figure
    asked, stated = model_variants(question), model_variants(text)
    if asked and stated and not asked & stated:
        return f"it is about the {' and '.join(sorted(stated))} model, not the {' and '.join(sorted(asked))} one"
    # a measure in the paper's name ("Latency Adjustable Transformer Encoder") is not what is asked for
    asked, measured = measures_named(question, title), [kinds for kinds in figure_measures(text) if kinds]
    if asked and measured and not any(kinds & asked for kinds in measured):
        return f"its figures measure {' and '.join(sorted(set().union(*measured)))}, not {' and '.join(sorted(asked))}"
    for match in _HOW_MANY.finditer(question):
        noun = match["noun"].lower()
        if noun in _NOT_COUNTED:
            continue
        counted = rf"\b{_COUNT}(?:,?[\s-]+[\w@-]+){{0,3}}?,?[\s-]+{re.escape(_start(_singular(noun)))}"
        if not re.search(counted, text, re.I):
            return f"it gives no count of {_counted_words(question[match.start('noun'):])}"
    if _ASKS_SCORE.search(question) and not _ASKS_CHANGE.search(question) and not _states_level(text):
        return "it states changes, not the figure asked for"
    return None


def model_variants(text: str) -> set[str]:
    """The sizes of a model the text names: "MosaicBERT-large", "BERT base and large", "the base model"."""
    return {word.lower() for match in _VARIANT.finditer(text) for word in _VARIANT_WORD.findall(match[0])}


def _counted_words(text: str) -> str:
    """What "how many" counts, as the question words it: "bridge layers" of "bridge layers does …"."""
    words = text.split()[:2]
    if len(words) == 2 and words[1].lower() in STOPWORDS | {"does", "do", "did", "has", "have", "had"}:
        words = words[:1]
    return " ".join(words).rstrip("?.,")


def _states_level(text: str) -> bool:
    levels = any(LEVEL in roles for roles in percent_roles(text).values())
    return levels or bool(_PLAIN_FIGURE.search(text))


def _start(word: str) -> str:
    """The part of a word its other forms share: "accuracy" is found in "accuracies"."""
    return word[:-1] if word.endswith("y") and len(word) > 4 else word


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3]  # "entries" -> "entr", found as the start of "entry"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word
