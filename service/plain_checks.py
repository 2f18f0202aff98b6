"""What a plain-language summary may say: nothing its paper doesn't. Checked in code, sentence by
sentence, because the writer explains in its own words and a small model explaining also invents: a
number, a name, a "first" or a comparison ("faster and more accurate than other methods") the abstract
never makes. A sentence with one of those is dropped; the rest of the summary stands.
"""

from __future__ import annotations

import re

from index.text import sentences

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_TERM = re.compile(r"[A-Za-z][\w\-']*")
_CLAIMS = ("first", "best", "state-of-the-art", "outperform")
# Each comparison a summary makes ("faster", "more accurate") needs the abstract to make that kind of
# comparison too, in some words of its own: a faster method isn't one the abstract calls more accurate.
_BETTER = r"better|outperform\w*|superior|surpass\w*|state-of-the-art|improv\w*|beats?|gains?|higher|competitive|rivals?"
_COMPARISONS = tuple((re.compile(said, re.I), re.compile(needed, re.I)) for said, needed in (
    (r"\b(?:better|superior|outperform\w*|beats?)\b", rf"\b(?:{_BETTER})\b"),
    (r"\b(?:faster|quicker|more quickly)\b",
     r"\b(?:fast\w*|speed\w*|latency|runtime|quick\w*|accelerat\w*|(?:training|inference|execution|running|wall-clock) time|time cost)\b|×|\d\s*x\b"),
    (r"\bmore accurate(?:ly)?\b", rf"\b(?:accura\w*|precision|errors?|{_BETTER})\b"),
    (r"\bmore efficient(?:ly)?\b|\bless (?:memory|energy|power)\b",
     r"\b(?:efficien\w*|fast\w*|speed\w*|cost\w*|memory|energy|compress\w*|reduc\w*|fewer|lighter)\b"),
))
_OTHER_SCRIPT = re.compile(r"[^\x00-\x7F‘’“”–—…×±≈]")


def unsupported(text: str, title: str, abstract: str) -> str | None:
    """What the text says that the paper (title and abstract) doesn't, or None: "new number",
    "new term" (a name or technical term), "new claim" ("first", "best"), "new comparison", or
    "other script" (the model switched language)."""
    source = f"{title} {abstract}"
    folded = source.casefold()
    checks = (
        ("other script", lambda: bool(_OTHER_SCRIPT.search(text))),
        ("new number", lambda: any(n.rstrip(".,") not in source for n in _NUMBER.findall(text))),
        ("new term", lambda: any(_is_term(m.group(0), m.start(), text) and m.group(0).casefold() not in folded
                                 for m in _TERM.finditer(text))),
        ("new claim", lambda: any(c in text.casefold() and c not in folded for c in _CLAIMS)),
        ("new comparison", lambda: any(said.search(text) and not needed.search(source) for said, needed in _COMPARISONS)),
    )
    return next((reason for reason, failed in checks if failed()), None)


def supported_sentences(text: str, title: str, abstract: str) -> str:
    """The summary without its sentences that say what the paper doesn't ("" if none is left)."""
    return " ".join(s for s in sentences(text) if unsupported(s, title, abstract) is None)


def _is_term(token: str, at: int, text: str) -> bool:
    """A name or technical term: capitals after its first letter, a digit or a hyphen, or a capital not
    opening a sentence."""
    opens_sentence = at == 0 or re.search(r"[.!?]\s+$", text[:at]) is not None
    return (any(c.isupper() for c in token[1:]) or any(c.isdigit() for c in token) or "-" in token
            or (token[0].isupper() and not opens_sentence))
