"""What a TL;DR must do beyond reading well: say more than the paper's title, and carry the paper's
result when the abstract states one. Checked and repaired in code, since the small model's tuned
writer learned SciTLDR's author TL;DRs, which seldom carry a number.

- title echo: the TL;DR's content words come at least ECHO_SHARE from the title;
- the problem alone: it says what the paper studies ("We study the challenging problem of …") and
  nothing of what was done about it;
- a result number: a percentage, a ×-speed-up or size factor, or a decimal score (not a year, a
  section number or a count of things).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.text import content_stems, sentences
from service.guard import injected_sentences

ECHO_SHARE = 0.8
MAX_RESULT_WORDS = 24
MAX_STATED_WORDS = 30  # a result clause longer than this is cut (after its first figure)
# A result number, as written; `result_numbers` reads it (and leaves out versions).
RESULT_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:\\?%|percent\b|x\b|×|times\b|-?fold\b)"
    r"|(?<![\w.])(\d+\.\d+)(?![\w]|\.\d)", re.IGNORECASE)
# Verbs that report an outcome: a sentence with one of them and a result number states the result.
_RESULT_VERB = re.compile(
    r"\b(?:achiev|improv|reduc|accelerat|outperform|surpass|match|rival|bring|speed|increas|decreas|cut|"
    r"gain|boost|attain|obtain|reach|yield|lower|exceed|beat|deliver|sav|observ|compress)\w*|\b(?:le(?:d|ads?) to|see)\b",
    re.IGNORECASE)
# "We study the problem of …", "This paper addresses the challenge of …"
_PROBLEM = re.compile(r"\b(?:stud(?:y|ies|ied)|address(?:es|ed)?|tackles?|consider(?:s|ed)?|investigat\w*|explor\w*|"
                      r"focus(?:es)? on)\b[^.]*\b(?:problems?|challenges?|tasks?|questions?|issues?)\b", re.IGNORECASE)
# What the authors did or found: a contribution verb or the name of what they built.
_DONE = re.compile(r"\b(?:propos|present|introduc|develop|devis|design|buil[dt]|show|find|found|achiev|outperform|"
                   r"improv|reduc|accelerat|method|approach|framework|scheme|architecture|algorithm)\w*", re.IGNORECASE)
_CLAUSE_END = re.compile(r",\s+(?:while|whereas|which|and|but|with|as|when|including|we|our)\b|;|\s+while\b|\s+whereas\b")


def unescaped_percent(text: str) -> str:
    """LaTeX's escaped percent ("95\\%"), as some abstracts write it, as a percent."""
    return text.replace("\\%", "%")


def novelty(tldr: str, title: str) -> float:
    """The share of the TL;DR's content words that the title does not have (1.0 for an empty title)."""
    words = content_stems(tldr)
    if not words:
        return 0.0
    return len(words - content_stems(title)) / len(words)


def echoes_title(tldr: str, title: str) -> bool:
    words = content_stems(tldr)
    return bool(words) and bool(title.strip()) and 1.0 - novelty(tldr, title) >= ECHO_SHARE


def states_problem_only(tldr: str) -> bool:
    """The TL;DR names the problem the paper studies and nothing the authors did or found."""
    return bool(_PROBLEM.search(tldr)) and not _DONE.search(tldr)


def result_numbers(text: str) -> set[str]:
    """The result numbers a text states, as written without trailing zeros ("55.0" -> "55")."""
    return {number for _, _, number in result_figures(text)}


def result_figures(text: str) -> list[tuple[int, int, str]]:
    """Each result number the text states, in order: its span and its value without trailing zeros."""
    found = []
    for match in RESULT_NUMBER.finditer(text):
        number = match.group(1) or match.group(2)
        if match.group(2) and _is_version(number, text[:match.start()]):
            continue
        found.append((match.start(), match.end(), without_trailing_zeros(number)))
    return found


def without_trailing_zeros(number: str) -> str:
    """A figure as compared across texts: "55.0" and "55" are the same result."""
    return number.rstrip("0").rstrip(".") if "." in number else number


def _is_version(number: str, before: str) -> bool:
    """"Tesseract 4.0", "MultiWOZ 2.1": a small one-decimal number right after a name is a version."""
    words = before.split()
    named = bool(words) and words[-1][:1].isupper() and before.endswith(" ")
    return named and 1 <= float(number) < 10 and len(number.split(".")[1]) == 1


def carries_result(tldr: str, abstract: str) -> bool | None:
    """Whether the TL;DR states one of the abstract's result numbers; None when the abstract states none."""
    wanted = result_numbers(abstract)
    if not wanted:
        return None
    return bool(wanted & result_numbers(tldr)) or any(_plain_number(n) in tldr for n in wanted)


def _plain_number(number: str) -> str:
    return number if "." in number else f"{number}%"


def result_sentence(abstract: str) -> str | None:
    """The abstract's sentence that states its result: the first with a result number and a verb that
    reports an outcome, else the first with a result number; never one that tries to instruct the model."""
    stating = [s for s in sentences(abstract) if result_numbers(s) and not injected_sentences(s)]
    return next((s for s in stating if states_result(s)), stating[0] if stating else None)


def states_result(sentence: str) -> bool:
    """A result number and a verb reporting an outcome ("achieves 79.6"), not a setting ("a 30% ratio")."""
    return bool(result_numbers(sentence)) and bool(_RESULT_VERB.search(sentence))


def result_clause(sentence: str) -> str:
    """The part of a result sentence that states it, in code: from the reporting verb before the first
    result number to the end of that clause ("reducing runtime by up to 95%")."""
    number = RESULT_NUMBER.search(sentence)
    if number is None:
        return sentence.rstrip(". ")
    verbs = [v.start() for v in _RESULT_VERB.finditer(sentence) if v.start() < number.start()]
    end = _CLAUSE_END.search(sentence, number.end())
    clause = sentence[verbs[-1] if verbs else 0:end.start() if end else len(sentence)]
    return unescaped_percent(clause.strip(" ,.;"))


def with_results(tldrs: Sequence[str], abstracts: Sequence[str], keep_sentences: int = 1) -> list[str]:
    """Each TL;DR, with the paper's result added where the abstract states one and the TL;DR doesn't:
    the result sentence as written when short, else its result clause. Stated in code, not restated
    by the model: the model's restatements dropped qualifiers ("less than 0.75%" became "a 0.75% drop")
    that no number check catches, and took a good part of a day's TL;DR time (docs/BENCHMARKS.md,
    session 14). The TL;DR keeps its first `keep_sentences` sentences before it, so the style's length
    holds."""
    out = list(tldrs)
    for i, (tldr, abstract) in enumerate(zip(tldrs, abstracts, strict=True)):
        source = result_sentence(abstract) if carries_result(tldr, abstract) is False else None
        if source:
            kept = " ".join(sentences(tldr)[:max(keep_sentences, 1)])
            out[i] = f"{kept} {stated_result(source)}".strip()
    return out


def stated_result(source: str) -> str:
    """The result sentence itself when short, else its result clause."""
    if len(source.split()) <= MAX_RESULT_WORDS:
        return unescaped_percent(source)
    words = result_clause(source).split()
    number = next((i for i, word in enumerate(words) if RESULT_NUMBER.search(word)), 0)
    if len(words) > MAX_STATED_WORDS and number < MAX_STATED_WORDS:  # cut after its first figure, never before
        return f"Result: {' '.join(words[:MAX_STATED_WORDS]).rstrip(',;:')}…"
    return f"Result: {' '.join(words)}."
