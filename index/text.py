"""Text helpers every stage shares: sentence splitting with character spans (so citations can point
at exact sentences), query terms without stopwords, one light suffix stemmer, and the content stems
texts are compared on."""

from __future__ import annotations

import re

# Query words that match nearly every abstract: they cost time and carry no signal.
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from has have how i in is it its of on or our "
    "that the their them these this those to was we were what when where which who why will "
    "with you your".split()
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SUFFIX = re.compile(r"(ing|ed|es|s|ly)$")

# A boundary: sentence punctuation (optionally closed by a quote/bracket), whitespace, then
# something that can start a sentence.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)\]]?\s+(?=[\"'“‘(\[]?[A-Z0-9])")
# Words after which a period rarely ends a sentence in abstracts.
_NO_BREAK_AFTER = re.compile(
    r"(?:\b(?:e\.g|i\.e|et al|etc|cf|vs|Fig|Figs|Eq|Eqs|Sec|Tab|No|approx|resp|incl|al|Dr|Prof|St|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|[A-Z])\.)$"
)


# A sentence pointing at code or a URL ("Code is available at https://…") says nothing about the work.
_CODE_LINK = re.compile(r"https?://|\bgithub\b|\bcodes? (?:is |are )?(?:publicly )?available\b", re.IGNORECASE)


def points_at_code(sentence: str) -> bool:
    return bool(_CODE_LINK.search(sentence))


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


def as_typed(text: str) -> str:
    """The text as a reader types its names: "M^2-Encoder-10B" is asked about as "M2-Encoder-10B"."""
    return text.replace("^", "")


def query_terms(text: str) -> list[str]:
    """The lower-cased words of `text` that are not stopwords, each once, in order."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)


def content_stems(text: str) -> set[str]:
    """The stems of the text's query terms: what two texts are compared on for shared content."""
    return {stem(word) for word in query_terms(text)}


def stem(word: str) -> str:
    """A light suffix stemmer for matching words across sentences ("methods" ~ "method"); words of
    four letters or fewer are kept whole, so short acronyms survive."""
    return _SUFFIX.sub("", word) if len(word) > 4 else word
