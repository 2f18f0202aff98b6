"""Sentence-aware chunks that fit the embedder's input, title prefixed, with sentence offsets."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.models import Chunk, Paper
from index.text import split_sentences

TokenCounter = Callable[[Sequence[str]], list[int]]
_JOIN = "\n"  # sentences are joined one per line so the splitter breaks only between them
_MAX_TITLE_SHARE = 0.5  # a very long title may not crowd the abstract out of its own chunk


class Chunker:
    """Packs whole sentences into chunks of at most `limit` tokens (title prefix included).

    A sentence longer than a chunk is split at spaces; chunks overlap by up to
    `overlap` tokens of whole sentences so a fact at a boundary is seen in context.
    """

    def __init__(self, count_tokens: TokenCounter, limit: int, overlap: int):
        if overlap >= limit // 2:
            raise ValueError(f"chunk overlap ({overlap}) must be under half the chunk size ({limit})")
        self._count_tokens = count_tokens
        self._specials = count_tokens([""])[0]
        self.limit = limit
        self.overlap = overlap

    def _length(self, text: str) -> int:
        return self._count_tokens([text])[0] - self._specials

    def chunk(self, paper: Paper) -> list[Chunk]:
        spans = split_sentences(paper.abstract)
        if not spans:
            return []
        prefix = f"{paper.title}\n"
        budget = self.limit - self._specials - self._length(prefix)
        budget = max(budget, int((self.limit - self._specials) * (1 - _MAX_TITLE_SHARE)))
        joined, line_starts = _join_sentences(paper.abstract, spans)
        splitter = RecursiveCharacterTextSplitter(
            separators=[_JOIN, " ", ""],
            chunk_size=budget,
            chunk_overlap=min(self.overlap, budget // 2 - 1),
            length_function=self._length,
            keep_separator=False,
            strip_whitespace=True,
        )
        chunks, start = [], -1
        for n, piece in enumerate(splitter.split_text(joined)):
            # Located ourselves: the splitter's own start_index treats a token overlap as
            # characters and misses chunks. Chunks are verbatim and strictly advance.
            start = joined.find(piece, start + 1)
            end = start + len(piece)
            chunks.append(self._make_chunk(paper, n, spans, line_starts, start, end, prefix))
        return chunks

    @staticmethod
    def _make_chunk(paper: Paper, n: int, spans: list[tuple[int, int]], line_starts: list[int],
                    start: int, end: int, prefix: str) -> Chunk:
        first = bisect.bisect_right(line_starts, start) - 1
        last = bisect.bisect_right(line_starts, end - 1) - 1
        # Offsets inside a sentence carry over 1:1: the joined text copies each sentence verbatim.
        char_start = spans[first][0] + (start - line_starts[first])
        char_end = spans[last][0] + (end - line_starts[last])
        text = paper.abstract[char_start:char_end]
        return Chunk(
            paper_id=paper.id, n=n, text=text, embed_text=prefix + text,
            sent_start=first, sent_end=last + 1, char_start=char_start, char_end=char_end,
        )


def _join_sentences(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[int]]:
    lines = [text[start:end] for start, end in spans]
    starts, position = [], 0
    for line in lines:
        starts.append(position)
        position += len(line) + len(_JOIN)
    return _JOIN.join(lines), starts
