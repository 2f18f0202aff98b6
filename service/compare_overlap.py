"""What compared papers share, in code: the phrases of their titles and cells that two or more use, and
the plain summary shown when the model's fails its checks."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from index.text import STOPWORDS, stem
from service.compare_cells import UNINFORMATIVE_WORDS

if TYPE_CHECKING:
    from service.compare import ComparisonTable

_PHRASE_WORD = re.compile(r"[A-Za-z0-9][\w\-+]*")
# Words any two papers may share without sharing a topic ("methods", "state-of-the-art").
_SAYS_NOTHING = STOPWORDS | UNINFORMATIVE_WORDS | frozenset(
    "state-of-the-art performance result multiple various existing unveil task both rethinking".split())


def code_summary(table: ComparisonTable) -> str:
    """A plain, always-true summary: the phrases papers share, then how their methods differ."""
    shared = [f"“{phrase}” ({join_names(letters)})" for phrase, letters in shared_phrases(table)[:3]]
    opening = f"Shared key words: {'; '.join(shared)}." if shared else "The papers share no key words."
    methods = "; ".join(f"[{row.letter}] {_first_words(row.cell('method').text)}" for row in table.rows)
    return f"{opening} Their methods differ: {methods}."


def shared_phrases(table: ComparisonTable) -> list[tuple[str, list[str]]]:
    """Runs of up to three words (title and cells) that at least two papers use, the most widely shared
    first and the longest of those, none inside a longer one shared by the same papers ("medical image
    segmentation", not also "image segmentation")."""
    owners: dict[tuple[str, ...], list[str]] = {}
    surface: dict[tuple[str, ...], str] = {}
    for row in table.rows:
        texts = [row.paper.title] + [c.text for c in row.cells if c.origin != "none"]
        for words in (_PHRASE_WORD.findall(text) for text in texts):
            for phrase in _runs(words):
                key = tuple(stem(word.lower()) for word in phrase)
                if f"[{row.letter}]" not in owners.setdefault(key, []):
                    owners[key].append(f"[{row.letter}]")
                    surface.setdefault(key, " ".join(phrase))
    ranked = sorted((key for key, letters in owners.items() if len(letters) >= 2),
                    key=lambda key: (-len(owners[key]), -len(key)))
    chosen: list[tuple[str, ...]] = []
    for key in ranked:
        if not any(owners[key] == owners[longer] and _inside(key, longer) for longer in chosen):
            chosen.append(key)
    return [(surface[key], owners[key]) for key in chosen]


def _runs(words: Sequence[str]) -> Iterator[tuple[str, ...]]:
    """Each run of one to three words that starts and ends on a word saying something (not "of", "the")."""
    for start in range(len(words)):
        for end in range(start + 1, min(start + 3, len(words)) + 1):
            run = tuple(words[start:end])
            if _informative(run[0]) and _informative(run[-1]):
                yield run


def _informative(word: str) -> bool:
    lower = word.lower()
    return len(lower) > 2 and not lower.isdigit() and not {lower, stem(lower)} & _SAYS_NOTHING


def _inside(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    return len(short) < len(long) and any(long[i:i + len(short)] == short for i in range(len(long) - len(short) + 1))


def join_names(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _first_words(text: str, count: int = 12) -> str:
    words = text.rstrip(".…").split()
    return " ".join(words[:count]) + ("…" if len(words) > count else "")
