"""Whose deed a claim states. The small model reads "Poly-Encoder addresses the above problems by reducing
the interaction between context and candidates, but with a price of performance drop" in Uni-Encoder's
abstract and writes "Uni-Encoder cuts the interaction between context and candidates at the price of a
performance drop". Every word and name is the paper's, so the other claim checks pass it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.models import Paper
from index.text import content_stems, sentences

# A system's name: hyphenated capitals ("Uni-Encoder", "M2-Encoder"), or a capital with another capital
# or a digit inside ("MosaicBERT", "EVE", "SpeechT5").
_NAME = r"[A-Z][\w+]*(?:-[A-Z0-9][\w+]*)+|[A-Z]\w*[A-Z0-9]\w*"
_NAMES = re.compile(rf"\b(?:{_NAME})")
# A sentence whose subject is a name: "Poly-Encoder addresses …", "In particular, BridgeTower achieves …".
_NAMED_SUBJECT = re.compile(
    r"^(?i:(?:however|in particular|moreover|notably|specifically|for instance|in contrast|in comparison),?\s+)?"
    rf"(?i:the\s+)?({_NAME})\s+(?:[a-z]+s|is|are|was|has|can)\b")
# Share of the claim's other content words its closest sentence must hold: the claim was made from it.
MIN_SHARED = 0.5
# The authors speaking of their own work: a name there is theirs, whatever it is.
_AUTHORS = re.compile(r"\b(?:we|our|this (?:paper|work|study)|(?:the )?proposed)\b", re.IGNORECASE)


def rightful_subject(claim: str, paper: Paper) -> tuple[str, str] | None:
    """(the claim's subject, the one the paper gives it to) when the claim gives its subject what the paper
    says another system does, else None: the claim opens on a name, and the paper's sentence closest to
    the rest of the claim (holding at least half its words) opens on another name, which the claim never
    uses, without the claim's name and without the authors speaking of their own work."""
    said = _subject(claim)
    words = content_stems(_NAMES.sub(" ", claim))
    found = sentences(paper.abstract)
    if said is None or not words or not found:
        return None
    shared = [len(words & content_stems(_NAMES.sub(" ", sentence))) for sentence in found]
    closest = found[max(range(len(found)), key=shared.__getitem__)]
    doer = _subject(closest)
    if doer is None or doer == said or said in closest or doer in claim or _AUTHORS.search(closest) \
            or max(shared) < MIN_SHARED * len(words):
        return None
    return said, doer


def with_rightful_subject(claim: str, papers: Sequence[Paper]) -> tuple[str, str | None]:
    """The claim with its subject given back to the system its paper says did it, and a note, or the claim
    unchanged and None (a claim citing several papers is left to the other checks)."""
    swapped = rightful_subject(claim, papers[0]) if len(papers) == 1 else None
    if swapped is None:
        return claim, None
    said, doer = swapped
    start = claim.index(said)
    return (claim[:start] + doer + claim[start + len(said):],
            f"{said} changed to {doer}: the paper says {doer} does this, not {said}")


def _subject(sentence: str) -> str | None:
    match = _NAMED_SUBJECT.match(sentence.strip())
    return match.group(1) if match else None
