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
MAX_SUBJECT_WORDS = 8  # words between a comma and the reporting verb that can still be its subject
# Words opening a stretch that is no subject: "…, while drastically reducing", "…, by using"
_NOT_A_SUBJECT = {"while", "whereas", "when", "by", "using", "with", "for", "in", "on", "at", "which", "thus",
                  "thereby", "hence", "and", "or", "but", "as", "to", "after", "before", "although", "though",
                  "where", "so", "than", "compared", "from", "of", "respectively", "e.g.", "i.e."}
_NO_NOUN = {"already", "also", "further", "still", "even", "can", "could", "may", "might", "will", "would", "should",
            "must", "not", "then", "now", "is", "are", "was", "were", "be", "being", "has", "have", "able"}
_SUBJECT_OPENS = re.compile(r"[,;:]\s+|\bthat\s+")
# "For example, …", "Our experiments on X show that …", "We find that …": what frames the result, not it
_REPORTING_FRAME = re.compile(
    r"^(?:(?:for (?:example|instance)|in particular|specifically|notably|moreover|furthermore|in addition|overall|"
    r"as a result|consequently|empirically|experimentally|finally),\s+)?"
    r"(?:(?:[\w\-]+\s+){0,8}?(?:results?|experiments?|evaluations?|analys[ie]s|studies|evidence|we)\b"
    r"(?:\s+[\w\-]+){0,5}?\s+(?:(?:\w+ly|also|further|can)\s+)?"
    r"(?:show|demonstrate|indicate|reveal|suggest|confirm|find|observe|verify)s?"
    r"\s+that\s+)?", re.IGNORECASE)
_AUTHORS_OPENING = re.compile(r"^(?:We|Our)\b")
_MATH_FIGURE = re.compile(r"\$\s*(\d+(?:\.\d+)?)\s*\$")
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
    result number to the end of that clause ("reducing runtime by up to 95%"), from the verb's subject
    where one stands right before it ("standard models alone can match or outperform …")."""
    number = RESULT_NUMBER.search(sentence)
    if number is None:
        return sentence.rstrip(". ")
    verbs = [v.start() for v in _RESULT_VERB.finditer(sentence) if v.start() < number.start()]
    start = _subject_start(sentence, verbs[-1]) if verbs else 0
    end = _CLAUSE_END.search(sentence, number.end())
    return _balanced(_plain_figures(sentence[start:end.start() if end else len(sentence)].strip(" ,.;")))


def _subject_start(sentence: str, verb: int) -> int:
    """Where the reporting verb's subject starts: the few words after the last comma, semicolon or "that"
    before it ("…, standard DE models alone can outperform"), or the verb itself when those words are no
    subject ("…, while drastically reducing") or there are none."""
    head = sentence[:verb]
    start = max((m.end() for m in _SUBJECT_OPENS.finditer(head)), default=0)
    words = [word.lower() for word in head[start:].split()]
    named = [word for word in words if word not in _NO_NOUN and not word.endswith("ly")]  # "already can": no subject
    if not named or len(words) > MAX_SUBJECT_WORDS or words[0] in _NOT_A_SUBJECT:
        return verb
    return start


def _balanced(clause: str) -> str:
    """The clause without a bracket it doesn't open ("by 400%)"), and cut before one it doesn't close
    when its result number comes first; closed otherwise."""
    kept, opened = [], []
    for char in clause:
        if char == ")" and not opened:
            continue
        if char == "(":
            opened.append(len(kept))
        elif char == ")":
            opened.pop()
        kept.append(char)
    text = "".join(kept)
    if opened and RESULT_NUMBER.search(text[:opened[0]]):
        return text[:opened[0]].rstrip(" ,;:")
    return text + ")" * len(opened)


def _without_frame(sentence: str) -> str:
    """The sentence without a connective or a reporting frame before what it states ("For example,",
    "Our experiments show that"), its first letter capitalised."""
    rest = _REPORTING_FRAME.sub("", sentence, count=1)
    if len(rest.split()) < 4 or result_numbers(rest) != result_numbers(sentence):  # a frame never holds the result
        return sentence
    return rest[:1].upper() + rest[1:]


def _plain_figures(text: str) -> str:
    """LaTeX's escaped percent and math-mode figures ("$47.1$") as plain text, on one line."""
    return " ".join(_MATH_FIGURE.sub(r"\1", unescaped_percent(text)).split())


def with_results(tldrs: Sequence[str], abstracts: Sequence[str], keep_sentences: int = 1,
                 third_person: bool = False) -> list[str]:
    """Each TL;DR, with the paper's result added where the abstract states one and the TL;DR doesn't:
    the result sentence when short, else its result clause (`stated_result`). Stated in code, not restated
    by the model: the model's restatements dropped qualifiers ("less than 0.75%" became "a 0.75% drop")
    that no number check catches, and took a good part of a day's TL;DR time (docs/BENCHMARKS.md,
    session 14). The TL;DR keeps its first `keep_sentences` sentences before it, so the style's length
    holds; `third_person` gives the authors' "We"/"Our" as "They"/"Their", for summaries written about them."""
    out = list(tldrs)
    for i, (tldr, abstract) in enumerate(zip(tldrs, abstracts, strict=True)):
        source = result_sentence(abstract) if carries_result(tldr, abstract) is False else None
        if source:
            kept = " ".join(sentences(tldr)[:max(keep_sentences, 1)])
            stated = stated_result(source)
            out[i] = f"{kept} {_AUTHORS_OPENING.sub(_about_authors, stated) if third_person else stated}".strip()
    return out


def _about_authors(opening: re.Match) -> str:
    return {"we": "They", "our": "Their"}[opening.group(0).lower()]


def stated_result(source: str) -> str:
    """The result sentence itself when short, without its reporting frame; else its result clause: a
    sentence of its own from the verb's subject, or labelled "Result:" from the verb when it has none."""
    sentence = _plain_figures(_without_frame(source))
    if len(sentence.split()) <= MAX_RESULT_WORDS:
        return _balanced(sentence)
    clause = result_clause(sentence)
    words = clause.split()
    number = next((i for i, word in enumerate(words) if RESULT_NUMBER.search(word)), 0)
    if len(words) > MAX_STATED_WORDS and number < MAX_STATED_WORDS:  # cut after its first figure, never before
        clause = f"{' '.join(words[:MAX_STATED_WORDS]).rstrip(',;:')}…"
    ending = "" if clause.endswith("…") else "."
    if _RESULT_VERB.match(clause) or not clause[:1].isalpha():
        return f"Result: {clause}{ending}"
    return f"{clause[:1].upper()}{clause[1:]}{ending}"
