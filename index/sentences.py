"""Sentence splitting with character spans, so citations can point at exact sentences."""

from __future__ import annotations

import re

# A boundary: sentence punctuation (optionally closed by a quote/bracket), whitespace, then
# something that can start a sentence.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)\]]?\s+(?=[\"'“‘(\[]?[A-Z0-9])")
# Words after which a period rarely ends a sentence in abstracts.
_NO_BREAK_AFTER = re.compile(
    r"(?:\b(?:e\.g|i\.e|et al|etc|cf|vs|Fig|Figs|Eq|Eqs|Sec|Tab|No|approx|resp|incl|al|Dr|Prof|St|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|[A-Z])\.)$"
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans (start, end) of the sentences of `text`, whitespace between them excluded."""
    spans: list[tuple[int, int]] = []
    start = _skip_space(text, 0)
    for match in _BOUNDARY.finditer(text):
        head = text[start : match.start()].rstrip("\"'”’)]")
        if _NO_BREAK_AFTER.search(head) or match.start() <= start:
            continue
        end = len(text[: match.end()].rstrip())
        spans.append((start, end))
        start = match.end()
    tail_end = len(text.rstrip())
    if start < tail_end:
        spans.append((start, tail_end))
    return spans


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position
