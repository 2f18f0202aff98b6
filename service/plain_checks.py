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
_CLAIMS = tuple((re.compile(said, re.I), re.compile(needed, re.I).search) for said, needed in (
    (r"\b(?:the|a|its) first (?:[\w\-]+ ){0,3}(?:to|that|which|of its kind)\b|\bfor the first time\b|\bfirst[- ]ever\b|"
     r"\bthe first (?:[\w\-]+ )?(?:attempt|effort|study|work|paper|investigation|analysis|exploration)\b",
     r"\bfirst\b"),
    (r"\bbest\b", r"\bbest\b"),
    (r"\bstate[- ]of[- ]the[- ]art\b", r"\bstate[- ]of[- ]the[- ]art\b|\bSOTA\b"),
    (r"\boutperform", r"\boutperform"),
))
# Each comparison a summary makes ("faster", "more accurate") needs the abstract to make that kind of
# comparison too: a faster method isn't one the abstract calls more accurate. Accuracy and time words must
# share a clause with a word of gain, and not stand in a phrase that keeps or loses what they name: an
# efficiency paper's "with less than 0.75% accuracy drop" or "comparable accuracy" isn't "more accurate".
_GAIN = r"better|outperform\w*|superior|surpass\w*|state-of-the-art|improv\w*|beats?|gains?|higher"
_BETTER = rf"{_GAIN}|competitive|rivals?"
_HELD_NEAR = (3, 2)  # words before and after the subject word that may say it was kept or lost
_CLAUSE_BREAK = re.compile(r"[,;:()]|\b(?:while|whereas|but|although|though|yet)\b", re.I)


def _anywhere(needed: str):
    pattern = re.compile(needed, re.I)
    return lambda source: bool(pattern.search(source))


def _near(subject: str, gain: str, held: str):
    """A backing test: some clause of the source has a `subject` word and a `gain` word, and no `held` word
    stands right beside the subject word."""
    subject_word, gain_word, held_word = (re.compile(rf"^(?:{p})$", re.I) for p in (subject, gain, held))

    def backs(source: str) -> bool:
        for clause in (c for sentence in sentences(source) for c in _CLAUSE_BREAK.split(sentence)):
            words = [word.strip(".") for word in re.findall(r"[\w%×.\-]+", clause)]
            if not any(gain_word.match(word) for word in words):
                continue
            if any(subject_word.match(word) and not _beside(words, at, held_word) for at, word in enumerate(words)):
                return True
        return False
    return backs


def _beside(words: list[str], at: int, wanted: re.Pattern) -> bool:
    window = words[max(0, at - _HELD_NEAR[0]):at] + words[at + 1:at + 1 + _HELD_NEAR[1]]
    return any(wanted.match(word) for word in window)


def _either(*tests):
    return lambda source: any(test(source) for test in tests)


# "competitive accuracy" and "rivals" claim a match, not a gain
_ACCURACY_GAIN = rf"{_GAIN}|sota|increas\w*|boost\w*|best|more"
_ACCURACY_HELD = (r"drops?|loss|los[et]\w*|degrad\w*|decreas\w*|sacrific\w*|penalt\w*|trade-?offs?|comparable|"
                  r"similar|same|maintain\w*|retain\w*|preserv\w*|keep\w*|par|without|little|minimal|negligible|"
                  r"slight\w*|small|lower|reduc\w*|close|marginal\w*|competitive|rivals?|matche?s?|matching")
_ERROR_GAIN = r"lower|reduc\w*|fewer|less|decreas\w*|halv\w*|cut\w*|eliminat\w*"
_TIME = r"latency|runtime|run-time|time|wall-clock|steps?"
_COMPARISONS = (
    (re.compile(r"\b(?:better|superior|outperform\w*|beats?)\b", re.I), _anywhere(rf"\b(?:{_BETTER})\b")),
    (re.compile(r"\b(?:faster|quicker|more quickly)\b", re.I), _either(
        _anywhere(r"\b(?:fast\w*|speed\w*|quick\w*|accelerat\w*)\b|×|\d\s*x\b"),
        _near(_TIME, rf"reduc\w*|lower|less|fewer|cut\w*|shorten\w*|decreas\w*|saves?|saving|{_BETTER}", r"increas\w*|longer"))),
    (re.compile(r"\bmore accurate(?:ly)?\b", re.I), _either(
        _near(r"accura\w*|precision|f1|recall", _ACCURACY_GAIN, _ACCURACY_HELD),
        _near(r"errors?|error-rates?|mistakes?|wer|cer", _ERROR_GAIN, r"comparable|similar|same|without|increas\w*|higher|more"))),
    (re.compile(r"\bmore efficient(?:ly)?\b|\bless (?:memory|energy|power)\b", re.I),
     _anywhere(r"\b(?:efficien\w*|fast\w*|speed\w*|cost\w*|memory|energy|compress\w*|reduc\w*|fewer|lighter)\b")),
)
# "The authors developed a new type of model called a dual-encoder": a name credited to the authors as what they
# built. The verb must reach the name without the sentence turning to what the work uses ("… that uses a tool
# called …"); the name runs on through capitalised words and names joined to it ("Transformer Decoder", "X and Y").
_CREDITED_NAME = re.compile(
    r"\b(?:develop|creat|introduc|propos|design|buil[dt]|invent|present|devis|construct|formulat)\w*\b"
    r"(?:(?!\b(?:us(?:e|es|ed|ing)|based|with|via|through|from|by)\b)[^.;])*?"
    r"(?P<naming>,?\s*\b(?:called|named|dubbed|termed|known as)\s+(?:an?\s+|the\s+)?)"
    r"(?P<name>[\w+@\-]+(?:\.[\w+@\-]+)*(?:\s+(?:(?:and|or)\s+(?=[A-Z0-9]))?(?:[A-Z0-9][\w+@\-]*(?:\.[\w+@\-]+)*|\([^)]*\)))*)")
# Where the abstract credits a name to its authors: the few words after their verb of building ("we propose a
# simple fusion method, SurfaceFusion"), not "proposed" said of a thing ("our proposed loss functions, standard DE
# models …": DE is what the loss trains), or a naming word ("dubbed", "called") anywhere.
_CREDITING = re.compile(r"\b(?:we|our|this (?:paper|work|study))\b[^.]*?\b(?<!our )(?<!the )(?<!a )"
                        r"(?:propos|introduc|present|develop|design|buil[dt]|devis|creat|construct|formulat|launch)\w*"
                        r"(?P<built>(?:[^\w.;!?]+[\w+@\-^]+){1,12}\)?)"
                        r"|\b(?:(?:called|named|dubbed|termed|coined|call|name)\b(?:\s+as)?|namely)"
                        r"(?P<named>(?:[^\w.;!?]+[\w+@\-^]+){1,8}\)?)", re.IGNORECASE)
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
        ("credited name", lambda: any(not built_by_authors(m.group("name"), title, abstract)
                                      for m in _CREDITED_NAME.finditer(text))),
    )
    return next((reason for reason, failed in checks if failed()), None)


def _unbacked(pairs, text: str, source: str) -> bool:
    """Whether the text says something (a claim, a comparison) whose backing the source lacks: `pairs` holds
    (what is said, a test of the source that backs it)."""
    return any(said.search(text) and not backs(source) for said, backs in pairs)


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
    wrong = [m for m in _CREDITED_NAME.finditer(sentence) if not built_by_authors(m.group("name"), title, abstract)]
    for match in reversed(wrong):
        sentence = sentence[:match.start("naming")] + sentence[match.end("name"):]
    return re.sub(r"\s+([.,;])", r"\1", " ".join(sentence.split()))


def built_by_authors(name: str, title: str, abstract: str) -> bool:
    """Whether the abstract credits `name` to its authors: it stands in the words their verb of building
    reaches or a naming word gives, or the title opens with it ("MosaicBERT: …")."""
    wanted = re.compile(rf"(?<![\w-]){re.escape(name.strip(' .,'))}(?![\w-])", re.IGNORECASE)  # "DE" isn't in "models"
    heading = title.split(":", 1)[0] if ":" in title else ""
    credited = (m.group("built") or m.group("named") for m in _CREDITING.finditer(abstract))
    return bool(wanted.search(heading)) or any(wanted.search(words) for words in credited)


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
