"""What asking produces: the options, the retrieval, the checked result and the streamed events.
Every kind of answer (fact, list, recommend, compare) is an `AskResult`, so the CLI, the API and the
web app render them through one shape."""

from __future__ import annotations

from dataclasses import dataclass

from service.citations import Citation, Passage
from service.compare import Comparison
from service.question_kinds import FACT

ABSTENTION = "The indexed papers don't answer this."
# Why an answer abstained where the model cited a source but every sentence it wrote only said the question
# back: the one reason a quote standing alone may take a lower bar (service/answer_quote.py).
RESTATED = "the model's answer only says the question back"
# A question is relevant to a chunk when their dense cosine (all-MiniLM-L6-v2) reaches MIN_RELEVANCE or
# the chunk holds MIN_COVERAGE of the question's idf-weighted words (short questions like "What is
# WAU?" embed poorly but name rare words). Below both for every candidate: abstain, no model call.
# Calibrated by `python -m bench.ask_eval --calibrate` on answerable vs off-topic questions, for the
# best balanced accuracy when a wrong abstention counts twice (docs/ask-calibration.md has the data).
MIN_RELEVANCE = 0.345
MIN_COVERAGE = 0.44


QUOTE_MODES = ("after", "none", "only")


@dataclass(frozen=True)
class AskOptions:
    passages: int = 3  # the 0.5B model loses track of sources beyond 3–5
    source_tokens: int = 900  # generator tokens for all source blocks together
    sentences: int = 3  # a passage's sentences that share most of the question's rare words (0: the chunk)
    # "after": the answering sentence quoted after the model's checked answer; "none": the model's answer
    # only; "only": the answering sentence alone, no generation (an abstention below the quote's bar)
    quote: str = "after"
    max_new_tokens: int = 120  # 1–3 sentences
    min_relevance: float = MIN_RELEVANCE
    min_coverage: float = MIN_COVERAGE
    mode: str = "hybrid"

    def __post_init__(self) -> None:
        if self.quote not in QUOTE_MODES:
            raise ValueError(f"unknown quote mode {self.quote!r}; use one of: {', '.join(QUOTE_MODES)}")


DEFAULT_OPTIONS = AskOptions()


@dataclass(frozen=True)
class Retrieval:
    query: str  # what was searched: the question, made standalone for follow-ups
    passages: tuple[Passage, ...]  # numbered from 1, relevant ones only
    relevance: float  # best dense cosine between the query and a candidate chunk (0.0: nothing matched)
    coverage: float = 0.0  # best idf-weighted share of the query's words a candidate contains


@dataclass(frozen=True)
class AskResult:
    question: str
    text: str  # the rendered answer: citations cleaned, or ABSTENTION
    citations: tuple[Citation, ...]
    abstained: bool
    reason: str  # why it abstained; "" when it answered
    raw_answer: str  # what the model said ("" when it was not asked)
    retrieval: Retrieval
    notes: tuple[str, ...] = ()  # citation changes and flags
    kind: str = FACT  # the question's kind (service.question_kinds)
    comparison: Comparison | None = None  # compare answers: the table the short answer sums up


@dataclass(frozen=True)
class Sources:
    retrieval: Retrieval


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Answer:
    result: AskResult


AskEvent = Sources | Token | Answer
