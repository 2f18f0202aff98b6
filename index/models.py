"""Internal records shared by every pipeline stage (frozen: stages never mutate each other's data)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

ARXIV_ID = re.compile(r"(?P<base>\d{4}\.\d{4,5})(?:v(?P<version>\d+))?$")
OLD_ARXIV_ID = re.compile(r"(?P<base>[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v(?P<version>\d+))?$")


def normalise_title(title: str) -> str:
    """Case-, accent- and punctuation-insensitive form used for identity."""
    # Drop accents but keep every script's letters, so non-Latin titles get distinct ids.
    text = "".join(ch for ch in unicodedata.normalize("NFKD", title) if not unicodedata.combining(ch))
    return " ".join(re.findall(r"[^\W_]+", text.lower()))


def title_id(title: str) -> str:
    return "t-" + hashlib.sha1(normalise_title(title).encode()).hexdigest()[:16]


def split_arxiv_id(raw: str) -> tuple[str, int | None] | None:
    """'2401.01234v3' or 'https://arxiv.org/abs/2401.01234v3' -> ('2401.01234', 3); None if not arXiv."""
    tail = raw.strip().rstrip("/")
    for prefix in ("http://", "https://"):
        if tail.startswith(prefix):
            tail = tail.split("/abs/", 1)[-1].split("/pdf/", 1)[-1]
    tail = tail.removeprefix("arXiv:").removeprefix("arxiv:").removesuffix(".pdf")
    for pattern in (ARXIV_ID, OLD_ARXIV_ID):
        match = pattern.fullmatch(tail)
        if match:
            version = match.group("version")
            return match.group("base"), int(version) if version else None
    return None


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Paper:
    """One paper as every source parser produces it.

    `id` is the arXiv id without version when known, a dataset-native id with a
    prefix for benchmark corpora (`scifact-4983`), else `title_id(title)`.
    """

    id: str
    title: str
    abstract: str
    source: str  # parser name: hf-page, hf-api, arxiv, jsonl, csv, scifact, scitldr
    authors: tuple[str, ...] = ()
    url: str = ""
    published: date | None = None
    feed_dates: tuple[date, ...] = ()
    categories: tuple[str, ...] = ()
    version: int | None = None
    upvotes: int | None = None

    @property
    def abstract_hash(self) -> str:
        return text_hash(self.title + "\n" + self.abstract)


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one abstract; `id` is stable: `<paper_id>#<n>`."""

    paper_id: str
    n: int
    text: str  # the sentences themselves, as in the abstract
    embed_text: str  # what is embedded and BM25-indexed: title prefixed for context
    sent_start: int  # index of the first sentence in the paper's sentence list
    sent_end: int  # one past the last sentence
    char_start: int  # offset of text in the abstract
    char_end: int

    @property
    def id(self) -> str:
        return f"{self.paper_id}#{self.n}"


@dataclass(frozen=True)
class BadRecord:
    """A record a parser could not turn into a Paper; `where` is 'line 12', 'record 3', 'entry 5'."""

    path: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.where}: {self.reason}"


@dataclass(frozen=True)
class ParseResult:
    papers: tuple[Paper, ...]
    bad: tuple[BadRecord, ...] = ()
    warnings: tuple[str, ...] = field(default=())
