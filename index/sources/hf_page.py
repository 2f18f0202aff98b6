"""A Hugging Face Daily Papers page saved as text: chrome lines, then title / abstract pairs.

Blocks are runs of non-blank lines. An abstract is prose (a long paragraph of
sentences); a title is a short line. Titles have no ids, so a paper is known by
`title_id(title)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.models import ParseResult
from index.sources.common import MAX_TITLE_CHARS, Collector, Fields, iter_lines

FORMAT = "hf-page"

# Page furniture a browser's "save as text" keeps; skipped silently wherever it appears.
_CHROME_LINES = {
    "new", "get trending papers in your email inbox!", "subscribe", "daily papers",
    "by ak and the research community", "search", "trending", "papers", "previous", "next",
    "submit", "sign up", "log in", "login", "models", "datasets", "spaces", "docs",
    "pricing", "collections", "enterprise", "community", "solutions", "upvote",
}  # fmt: skip
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_CHROME_PATTERNS = re.compile(
    "|".join(
        (
            rf"(?:published on |submitted on )?{_MONTH} \d{{1,2}}(?:,? \d{{4}})?",  # Nov 24, 2024
            r"\d{4}-\d{2}-\d{2}",
            r"[\d\s.,·•|/+\-–—#]*",  # counters and separators
            r"(?:submitted by|published on|authors?:) .*",
            r"[·•]?\s*\d+ (?:authors?|comments?|upvotes?)",
        )
    ),
    re.IGNORECASE,
)
_SENTENCE_BREAK = re.compile(r"[.!?][\"')\]]*\s+[A-Z(\"'0-9]")
_SENTENCE_END = (".", "!", "?", '."', ".)")
_LONGEST_TITLE = 300  # characters; longer blocks are never titles


@dataclass(frozen=True)
class Block:
    line: int  # 1-based number of the block's first line
    text: str


def parse(text: str, origin: str) -> ParseResult:
    collector = Collector(origin, FORMAT)
    blocks = read_blocks(text)
    index = 0
    while index < len(blocks):
        block = blocks[index]
        following = blocks[index + 1 : index + 3]
        if not _could_be_title(block, following[:1]):
            collector.bad(f"line {block.line}", "a paragraph with no title before it")
            index += 1
        elif following and _is_abstract_of_title(following[0], following[1:]):
            collector.add(f"line {block.line}", Fields(title=block.text, abstract=following[0].text))
            index += 2
        else:
            collector.warn(f"line {block.line}", f"no abstract after the title {block.text!r}; skipped")
            index += 1
    return collector.result()


def read_blocks(text: str) -> list[Block]:
    """Paragraphs separated by blank lines, page chrome removed, wrapped lines joined."""
    blocks: list[Block] = []
    current: list[tuple[int, str]] = []
    for number, raw in [*iter_lines(text), (-1, "")]:
        line = " ".join(raw.split())
        if line and not is_chrome(line):
            current.append((number, line))
        elif current and not line:
            blocks.extend(_split_block(current))
            current = []
    return blocks


def is_chrome(line: str) -> bool:
    return line.lower() in _CHROME_LINES or _CHROME_PATTERNS.fullmatch(line) is not None


def is_prose(text: str) -> bool:
    """An abstract-like paragraph: long, or several words ending in a full stop."""
    words = len(text.split())
    if len(text) >= 400 or words >= 60:
        return True
    return words >= 20 and (text.endswith(_SENTENCE_END) or bool(_SENTENCE_BREAK.search(text)))


def _could_be_title(block: Block, following: list[Block]) -> bool:
    if len(block.text) > min(_LONGEST_TITLE, MAX_TITLE_CHARS):
        return False
    if not is_prose(block.text):
        return True
    # A long one-sentence title still counts when an abstract follows it.
    single_sentence = not _SENTENCE_BREAK.search(block.text)
    return single_sentence and bool(following) and is_prose(following[0].text)


def _is_abstract_of_title(candidate: Block, after: list[Block]) -> bool:
    if is_prose(candidate.text):
        return True
    # A short abstract ("We study X.") is one unless it is itself the title of what follows.
    ends_like_sentence = candidate.text.endswith(_SENTENCE_END) and len(candidate.text.split()) >= 3
    return ends_like_sentence and not (after and is_prose(after[0].text))


def _split_block(lines: list[tuple[int, str]]) -> list[Block]:
    """One block, or a title line and its abstract when no blank line separates them."""
    first_line, first = lines[0]
    if len(lines) > 1:
        rest = " ".join(text for _, text in lines[1:])
        second = lines[1][1]
        title_like = not is_prose(first) and not first.endswith((",", "-", ";", ":"))
        if title_like and is_prose(rest) and (_is_title_case(first) or len(first) < 0.6 * len(second)):
            return [Block(first_line, first), Block(lines[1][0], rest)]
    return [Block(first_line, " ".join(text for _, text in lines))]


def _is_title_case(text: str) -> bool:
    """Most longer words capitalised, as in "Attention Is All You Need"."""
    words = [word for word in text.split() if len(word) > 3]
    capitalised = sum(1 for word in words if word[0].isupper() or word[0].isdigit())
    return len(words) >= 2 and capitalised >= 0.75 * len(words)
