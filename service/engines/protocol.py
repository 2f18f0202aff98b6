"""The small interface every language-model engine offers (`Generator`), its optional capabilities,
and the stop-string handling the engines share. Callers depend on this module, never on an engine."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": ...}


class GeneratorConfigError(ValueError):
    """The generator settings can't work as given (the message says which setting to change)."""


class Generator(Protocol):
    name: str  # stable model name, used in cache keys

    def stream(self, messages: list[Message], *, max_new_tokens: int = 256, stop: Sequence[str] = ()) -> Iterator[str]:
        """Answer pieces as they are produced; closing the iterator early stops the generation."""

    def generate(self, batch: list[list[Message]], *, max_new_tokens: int = 256, stop: Sequence[str] = ()) -> list[str]:
        """One complete answer per conversation, in order."""

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes in the model's input (an estimate for remote models)."""


class TaskTuned(Protocol):
    """Optional: generators with variants fine-tuned for a task (`tuned_generator`)."""

    def tuned_for(self, task: str) -> Generator | None:
        """The variant tuned for `task`, or None when there is none."""


class CandidateWriter(Protocol):
    """Optional: generators that can return several ranked answers per conversation (beam search)."""

    def generate_candidates(self, batch: list[list[Message]], *, max_new_tokens: int = 256,
                            stop: Sequence[str] = ()) -> list[list[str]]:
        """Each conversation's answers, best first (one when the generator has no alternatives)."""


class BatchWidth(Protocol):
    """Optional: generators that decode several requests at once (llama.cpp's slots)."""

    batch_width: int  # requests batch work may run at once; the engine keeps the rest for questions


class StructuredWriter(Protocol):
    """Optional: generators that decode under a JSON schema (constrained: the reply always parses)."""

    def generate_json(self, batch: list[list[Message]], schema: dict[str, Any], *,
                      max_new_tokens: int = 512) -> list[dict[str, Any]]:
        """One object per conversation, valid under `schema`."""


class ComparisonWriter(Protocol):
    """Optional: whether a model's free comparison prose is worth asking for (see `writes_comparisons`)."""

    writes_comparisons: bool


class ChoiceScorer(Protocol):
    """Optional: generators that can score fixed answers instead of generating (local models)."""

    def score_choices(self, messages: list[Message], choices: Sequence[str]) -> list[float]:
        """Log-probability of each choice's first token as the start of the reply."""


class ContinuationScorer(Protocol):
    """Optional: generators that can score a given reply token by token (local models)."""

    def score_continuations(self, batch: list[list[Message]], text: str) -> list[list[float]]:
        """Per conversation, the log-probability of each token of `text` as the reply."""


# --- stop strings ------------------------------------------------------------------------


def _first_stop(text: str, stops: Sequence[str]) -> int | None:
    found = [index for index in (text.find(s) for s in stops) if index >= 0]
    return min(found) if found else None


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """`text` up to (not including) the earliest stop string."""
    index = _first_stop(text, [s for s in stop if s])
    return text if index is None else text[:index]


def stream_until_stop(pieces: Iterator[str], stop: Sequence[str]) -> Iterator[str]:
    """Pass pieces through, cut before the first stop string, then close the source.

    A stop string can arrive split over pieces, so the last `len(longest) - 1` characters
    are held back until the next piece shows they don't start one.
    """
    stops = [s for s in stop if s]
    hold = max((len(s) for s in stops), default=1) - 1
    buffer = ""
    try:
        for piece in pieces:
            buffer += piece
            index = _first_stop(buffer, stops)
            if index is not None:
                if index:
                    yield buffer[:index]
                return
            if len(buffer) > hold:
                cut = len(buffer) - hold
                yield buffer[:cut]
                buffer = buffer[cut:]
        if buffer:
            yield buffer
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()  # stops a local generation / closes the HTTP stream


def writes_comparisons(generator: Generator) -> bool:
    """False for a model whose comparison prose fails the compare check (nearly) always: code writes the
    summary without asking it. Any model not measured is asked, and its text checked."""
    return bool(getattr(generator, "writes_comparisons", True))


def tuned_generator(generator: Generator, task: str) -> Generator | None:
    """The generator's variant tuned for `task` (e.g. the bundled model's SciTLDR adapter), or None."""
    tuned_for = getattr(generator, "tuned_for", None)
    return tuned_for(task) if tuned_for is not None else None
