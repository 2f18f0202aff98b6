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
# A claim of standing ("the first method to", "best"), each needing the abstract to make it in any words that
# have it; "first" counts only as a claim, never as an ordinal ("the first model learns …, the second …").
_CLAIMS = tuple((re.compile(said, re.I), re.compile(needed, re.I)) for said, needed in (
    (r"\b(?:the|a|its) first (?:[\w\-]+ ){0,3}(?:to|that|which|of its kind)\b|\bfor the first time\b|\bfirst[- ]ever\b|"
     r"\bthe first (?:[\w\-]+ )?(?:attempt|effort|study|work|paper|investigation|analysis|exploration)\b",
     r"\bfirst\b"),
    (r"\bbest\b", r"\bbest\b"),
    (r"\bstate[- ]of[- ]the[- ]art\b", r"\bstate[- ]of[- ]the[- ]art\b|\bSOTA\b"),
    (r"\boutperform", r"\boutperform"),
))
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
# "The authors developed a new type of model called a dual-encoder": a name credited to the authors as what they
# built. The verb must reach the name without the sentence turning to what the work uses ("… that uses a tool
# called …"); the name runs on through capitalised words and names joined to it ("Transformer Decoder", "X and Y").
_CREDITED_NAME = re.compile(
    r"\b(?:develop|creat|introduc|propos|design|buil[dt]|invent|present|devis|construct|formulat)\w*\b"
    r"(?:(?!\b(?:us(?:e|es|ed|ing)|based|with|via|through|from|by)\b)[^.;])*?"
    r"(?P<naming>,?\s*\b(?:called|named|dubbed|termed|known as)\s+(?:an?\s+|the\s+)?)"
    r"(?P<name>[\w+@\-]+(?:\.[\w+@\-]+)*(?:\s+(?:(?:and|or)\s+(?=[A-Z0-9]))?(?:[A-Z0-9][\w+@\-]*(?:\.[\w+@\-]+)*|\([^)]*\)))*)")
# The abstract's sentences where the authors say what they built or name it.
_OWN_WORK = re.compile(r"\b(?:we|our|this (?:paper|work|study)|the proposed)\b[^.]*\b(?:propos|introduc|present|develop|"
                       r"design|buil[dt]|devis|creat|construct|formulat|call|nam|dub|term|coin)\w*|\b(?:called|named|dubbed|termed|coined)\b",
                       re.IGNORECASE)
_OTHER_SCRIPT = re.compile(r"[^\x00-\x7F‘’“”–—…×±≈]")


def unsupported(text: str, title: str, abstract: str) -> str | None:
    """What the text says that the paper (title and abstract) doesn't, or None: "new number",
    "new term" (a name or technical term), "new claim" ("first", "best"), "new comparison", "credited
    name" (something named as what the authors built that the abstract doesn't say they built), or "other
    script" (the model switched language)."""
    source = f"{title} {abstract}"
    folded = source.casefold()
    checks = (
        ("other script", lambda: bool(_OTHER_SCRIPT.search(text))),
        ("new number", lambda: any(n.rstrip(".,") not in source for n in _NUMBER.findall(text))),
        ("new term", lambda: any(_is_new_term(m.group(0), m.start(), text, folded) for m in _TERM.finditer(text))),
        ("new claim", lambda: _unbacked(_CLAIMS, text, source)),
        ("new comparison", lambda: _unbacked(_COMPARISONS, text, source)),
        ("credited name", lambda: any(not _built_by_authors(m.group("name"), title, abstract)
                                      for m in _CREDITED_NAME.finditer(text))),
    )
    return next((reason for reason, failed in checks if failed()), None)


def _unbacked(pairs: tuple[tuple[re.Pattern, re.Pattern], ...], text: str, source: str) -> bool:
    """Whether the text says something (a claim, a comparison) whose backing the source lacks."""
    return any(said.search(text) and not needed.search(source) for said, needed in pairs)


def supported_sentences(text: str, title: str, abstract: str) -> str:
    """The summary without its sentences that say what the paper doesn't ("" if none is left); a sentence
    whose only fault is a name wrongly credited to the authors loses that name and stays ("The authors
    developed a new method called Transformer Decoder to upsample …" → "… a new method to upsample …")."""
    kept = []
    for sentence in sentences(text):
        if unsupported(sentence, title, abstract) == "credited name":
            sentence = _without_wrong_names(sentence, title, abstract)
        if unsupported(sentence, title, abstract) is None:
            kept.append(sentence)
    return " ".join(kept)


def _without_wrong_names(sentence: str, title: str, abstract: str) -> str:
    wrong = [m for m in _CREDITED_NAME.finditer(sentence) if not _built_by_authors(m.group("name"), title, abstract)]
    for match in reversed(wrong):
        sentence = sentence[:match.start("naming")] + sentence[match.end("name"):]
    return re.sub(r"\s+([.,;])", r"\1", " ".join(sentence.split()))


def _built_by_authors(name: str, title: str, abstract: str) -> bool:
    """Whether the abstract credits `name` to its authors: a sentence of theirs saying what they built or
    naming it has it, or the title opens with it ("MosaicBERT: …")."""
    wanted = re.compile(rf"(?<![\w-]){re.escape(name.strip(' .,'))}(?![\w-])", re.IGNORECASE)  # "DE" isn't in "models"
    heading = title.split(":", 1)[0] if ":" in title else ""
    return bool(wanted.search(heading)) or any(wanted.search(s) for s in sentences(abstract) if _OWN_WORK.search(s))


def _is_new_term(token: str, at: int, text: str, folded_source: str) -> bool:
    """A name or term the paper doesn't use. A compound of plain words ("cost-effective", "speech-to-text") is
    new only when one of its words is: it says in plain words what the paper says, and names nothing."""
    if not _is_term(token, at, text) or token.casefold() in folded_source:
        return False
    if token.islower() and "-" in token:
        # a word of the paper's starting with the part ("phone": "phones"), so "supervised" isn't "unsupervised"
        return any(len(part) > 2 and not re.search(rf"\b{re.escape(part)}", folded_source) for part in token.split("-"))
    return True


def _is_term(token: str, at: int, text: str) -> bool:
    """A name or technical term: capitals after its first letter, a digit or a hyphen, or a capital not
    opening a sentence."""
    opens_sentence = at == 0 or re.search(r"[.!?]\s+$", text[:at]) is not None
    return (any(c.isupper() for c in token[1:]) or any(c.isdigit() for c in token) or "-" in token
            or (token[0].isupper() and not opens_sentence))
