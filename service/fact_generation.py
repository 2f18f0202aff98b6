"""The model's answer to a fact question over numbered passages: the prompt (prompts/answer.txt), the
streamed generation, and the result checked in code (service.citations), with the answering sentence
quoted after it. `service.ask` decides which passages; this module only answers over them.
"""

from __future__ import annotations

import re
from collections.abc import Generator as Steps
from collections.abc import Sequence
from dataclasses import replace

from langchain_core.runnables import Runnable

from service.answer_quote import answering_sentence, with_quote
from service.answer_scope import scoped
from service.ask_records import ABSTENTION, RESTATED, AskOptions, AskResult, Retrieval, Token
from service.asked_measure import unstated_in
from service.citations import Passage, check_answer, marker_numbers
from service.engines.langchain_bridge import GeneratorChatModel
from service.engines.protocol import Generator
from service.guard import neutralise, source_block
from service.prompts import load_prompt

DECLINE = "NOT IN THE PAPERS"  # the exact phrase prompts/answer.txt asks for when the sources don't answer
PROMPT = "answer"
STOP = ("\n\n", "<source", "Question:")

MODEL_DECLINED = "the model found no answer in the passages"
NO_SUPPORT = "no passage supports the model's answer"
NO_CLOSE_SENTENCE = "no sentence answers the question closely enough"
NOT_WHAT_WAS_ASKED = "the model's answer does not state what the question asks for"
_ASKS_TWO_THINGS = re.compile(r"\band\s+(?:\w+\s+){0,2}(?:how|what|which|who|when|where|why)\b", re.IGNORECASE)


def render_source(passage: Passage) -> str:
    return source_block(passage.number, passage.paper.title, passage.text, where=passage.paper.id)


def prompt_variables(question: str, passages: Sequence[Passage], history: str = "") -> dict[str, str]:
    return {
        "history": history,
        "sources": "\n\n".join(render_source(passage) for passage in passages),
        "question": neutralise(" ".join(question.split())),
    }


def build_messages(question: str, passages: Sequence[Passage], history: str = "") -> list[dict[str, str]]:
    """The chat messages the model gets (what `answer_chain` renders), for tests and debugging."""
    return load_prompt(PROMPT).render(**prompt_variables(question, passages, history))


def answer_chain(generator: Generator, max_new_tokens: int = 120) -> Runnable:
    """prompt | model: any Generator (local, OpenAI-compatible, fake) streams message chunks through it.

    No StrOutputParser at the end: on close it drains the model's stream (LangChain consumes a step's
    remaining input for tracing), which would run the generation to its end after the reader left.
    """
    model = GeneratorChatModel(generator=generator, max_new_tokens=max_new_tokens).bind(stop=list(STOP))
    return load_prompt(PROMPT).template | model


class DeclineGate:
    """Holds the stream back while it may still be the decline phrase, so users never see it."""

    def __init__(self) -> None:
        self.raw = ""
        self.shown = 0
        self.declined = False

    def feed(self, piece: str) -> str:
        self.raw += piece
        head = self.raw.lstrip().upper()
        if head.startswith(DECLINE):
            self.declined = True
        if self.declined or (self.shown == 0 and DECLINE.startswith(head)):
            return ""
        new, self.shown = self.raw[self.shown :], len(self.raw)
        return new

    def flush(self) -> str:
        if self.declined:
            return ""
        new, self.shown = self.raw[self.shown :], len(self.raw)
        return new


def declined(raw: str) -> bool:
    return DECLINE in raw.upper() or not raw.strip()


def generated_answer(library, generator: Generator, question: str, retrieval: Retrieval, history: str,
                     options: AskOptions) -> Steps[Token, None, AskResult]:
    """Yields the answer's pieces as the model writes them; returns the checked result, with the
    answering sentence quoted after it when `options.quote` is "after"."""
    gate = DeclineGate()
    pieces = answer_chain(generator, options.max_new_tokens).stream(
        prompt_variables(question, retrieval.passages, history))
    try:
        for chunk in pieces:
            if shown := gate.feed(chunk.text):
                yield Token(shown)
            if gate.declined:
                break  # closing the stream stops the generation
    finally:
        pieces.close()
    if tail := gate.flush():
        yield Token(tail)
    result = scoped(finish(question, retrieval, gate.raw))
    if options.quote != "after" or result.reason == MODEL_DECLINED:
        return result
    if not (quote := answering_sentence(library, question, retrieval.passages)):
        return result
    quoted = scoped(with_quote(result, quote))  # the quote may come from another cited paper
    if quoted.text.startswith(result.text) and not result.abstained and quoted.text != result.text:
        suffix = quoted.text[len(result.text):]  # the quote streams after the answer
        yield Token(suffix.lstrip() if gate.raw.endswith((" ", "\n")) else suffix)
    return quoted


def quoted_answer(library, question: str, retrieval: Retrieval) -> AskResult:
    """The extractive answer, with no generation: the answering sentence quoted when it scores as one
    that answers (the bar for a quote standing alone), else an abstention."""
    unanswered = abstention(question, retrieval, NO_CLOSE_SENTENCE)
    quote = answering_sentence(library, question, retrieval.passages)
    result = scoped(with_quote(unanswered, quote)) if quote else unanswered
    return replace(result, notes=())


def finish(question: str, retrieval: Retrieval, raw: str) -> AskResult:
    """The model's raw answer checked against the passages: an answer with citations or an abstention."""
    if declined(raw):
        return abstention(question, retrieval, MODEL_DECLINED, raw)
    checked = check_answer(raw.strip(), retrieval.passages, question)
    if not checked.citations:  # never present an uncited guess as sourced
        # only said the question back: nothing is left, and every source it cited was cited while restating
        restated = checked.restated and not checked.text and set(marker_numbers(raw)) <= set(checked.restated)
        reason = RESTATED if restated else NO_SUPPORT
        return abstention(question, retrieval, reason, raw, checked.notes)
    cited = {citation.number for citation in checked.citations}
    titles = " ".join(passage.paper.title for passage in retrieval.passages if passage.number in cited)
    # "What GLUE score …" answered "it is Pareto optimal [1]"; a question asking two things is partly answered
    if not _ASKS_TWO_THINGS.search(question) and (why := unstated_in(question, checked.text, titles)):
        return abstention(question, retrieval, NOT_WHAT_WAS_ASKED, raw,
                          (*checked.notes, f"the model's answer is left out: {why}"))
    return AskResult(question, checked.text, checked.citations, False, "", raw, retrieval, checked.notes)


def abstention(question: str, retrieval: Retrieval, reason: str, raw: str = "",
               notes: tuple[str, ...] = ()) -> AskResult:
    return AskResult(question, ABSTENTION, (), True, reason, raw, retrieval, notes)


def renumbered(result: AskResult, number: int) -> AskResult:
    """A result over one passage numbered 1, its markers and citations moved to `number`."""
    if number == 1:
        return result
    marker = f"[{number}]"
    return replace(result, text=result.text.replace("[1]", marker),
                   citations=tuple(replace(c, number=number) for c in result.citations),
                   notes=tuple(note.replace("[1]", marker) for note in result.notes))
