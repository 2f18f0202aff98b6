"""A sentence of the model's answer that only says the question back ("The method fine-tunes the text
encoder of Stable Diffusion with rewards [1]" for "Which method fine-tunes the text encoder of Stable
Diffusion with rewards?"). It passes every citation check, since its words are the paper's, yet reads as
an answer and tells nothing; the small model writes it when it can't find the answer.
"""

from __future__ import annotations

import re

from index.text import content_stems

# yes/no questions: "It does not need 3D supervision" restates and answers them
_YES_NO = re.compile(r"^\s*(?:does|do|did|is|are|was|were|can|could|has|have|had|will|would|should)\b", re.I)
_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")


def only_restates(sentence: str, question: str) -> bool:
    """Whether the sentence holds no word of its own beyond the question's (plural or singular alike),
    for a question that is not a yes/no one."""
    if not question or _YES_NO.match(question):
        return False
    asked = content_stems(question)
    asked |= {word.removesuffix("s") for word in asked}
    said = content_stems(_MARKER.sub(" ", sentence))
    return bool(said) and all(word in asked or word.removesuffix("s") in asked for word in said)
