"""Generators: the small interface answer synthesis talks to.

The engines live in `service.engines`: llama.cpp runs the bundled GGUF models, transformers any
Hugging Face model (and the bundled ones where llama.cpp can't run). `OpenAIGenerator` talks to any
OpenAI-compatible server, and `GeneratorChatModel` lets LangChain Runnables drive any of them (or a
fake in tests). No torch import here.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from service import model_assets

if TYPE_CHECKING:
    from service.settings import Settings

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


class StructuredWriter(Protocol):
    """Optional: generators that decode under a JSON schema (constrained: the reply always parses)."""

    def generate_json(self, batch: list[list[Message]], schema: dict[str, Any], *,
                      max_new_tokens: int = 512) -> list[dict[str, Any]]:
        """One object per conversation, valid under `schema`."""


class ChoiceScorer(Protocol):
    """Optional: generators that can score fixed answers instead of generating (local models)."""

    def score_choices(self, messages: list[Message], choices: Sequence[str]) -> list[float]:
        """Log-probability of each choice's first token as the start of the reply."""


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


def tuned_generator(generator: Generator, task: str) -> Generator | None:
    """The generator's variant tuned for `task` (e.g. the bundled model's SciTLDR adapter), or None."""
    tuned_for = getattr(generator, "tuned_for", None)
    return tuned_for(task) if tuned_for is not None else None


# --- OpenAI-compatible servers -----------------------------------------------------------

_LC_MESSAGE = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
_ROLE = {"system": "system", "human": "user", "ai": "assistant"}


def to_langchain(messages: list[Message]) -> list[BaseMessage]:
    try:
        return [_LC_MESSAGE[m["role"]](content=m["content"]) for m in messages]
    except KeyError as error:
        raise ValueError(f"message role must be system, user or assistant, not {error.args[0]!r}") from None


def from_langchain(messages: Sequence[BaseMessage]) -> list[Message]:
    try:
        return [{"role": _ROLE[m.type], "content": m.text} for m in messages]
    except KeyError as error:
        raise ValueError(f"a Generator takes system, human and ai messages, not {error.args[0]!r}") from None


class OpenAIGenerator:
    """Any OpenAI-compatible chat server (vLLM, Ollama, llama.cpp, OpenAI), greedy, streaming."""

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_concurrency: int = 4,
    ):
        from langchain_openai import ChatOpenAI

        self.name = model
        self._max_concurrency = max_concurrency
        # Local servers ignore the key, but the client insists on one.
        self._chat = ChatOpenAI(
            model=model,
            base_url=base_url,
            api_key=api_key or "not-needed",
            temperature=0,
            timeout=timeout,
            max_retries=2,
        )

    def _options(self, max_new_tokens: int, stop: Sequence[str]) -> dict[str, Any]:
        # ChatOpenAI sends `max_completion_tokens`; Ollama and LM Studio read only `max_tokens`.
        return {
            "stop": [s for s in stop if s] or None,
            "max_tokens": max_new_tokens,
            "extra_body": {"max_tokens": max_new_tokens},
        }

    def stream(self, messages: list[Message], *, max_new_tokens: int = 256, stop: Sequence[str] = ()) -> Iterator[str]:
        chunks = self._chat.stream(to_langchain(messages), **self._options(max_new_tokens, stop))
        # Servers differ in honouring `stop`, so it is applied here as well.
        return stream_until_stop(_texts(chunks), stop)

    def generate(self, batch: list[list[Message]], *, max_new_tokens: int = 256, stop: Sequence[str] = ()) -> list[str]:
        if not batch:
            return []
        replies = self._chat.batch(
            [to_langchain(messages) for messages in batch],
            config={"max_concurrency": self._max_concurrency},
            **self._options(max_new_tokens, stop),
        )
        return [cut_at_stop(reply.text, stop) for reply in replies]

    def count_tokens(self, text: str) -> int:
        # No tokenizer for a remote model: ~4 characters a token is a fair estimate for English.
        return math.ceil(len(text) / 4)


def _texts(chunks: Iterator[AIMessageChunk]) -> Iterator[str]:
    try:
        for chunk in chunks:
            if chunk.text:
                yield chunk.text
    finally:
        chunks.close()  # type: ignore[attr-defined]  # ends the HTTP stream when the reader leaves


# --- LangChain adapter ---------------------------------------------------------------------


class GeneratorChatModel(BaseChatModel):
    """A LangChain chat model over any `Generator`, so `prompt | model | parser` chains work."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    generator: Any  # a Generator (a Protocol, so pydantic can't check it)
    max_new_tokens: int = 256

    @property
    def _llm_type(self) -> str:
        return "paperbrief-generator"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"generator": self.generator.name, "max_new_tokens": self.max_new_tokens}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        limit = kwargs.get("max_new_tokens", self.max_new_tokens)
        text = self.generator.generate([from_langchain(messages)], max_new_tokens=limit, stop=stop or ())[0]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        limit = kwargs.get("max_new_tokens", self.max_new_tokens)
        pieces = self.generator.stream(from_langchain(messages), max_new_tokens=limit, stop=stop or ())
        try:
            for piece in pieces:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
                if run_manager is not None:
                    run_manager.on_llm_new_token(piece, chunk=chunk)
                yield chunk
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()


# --- configuration -------------------------------------------------------------------------


def make_generator(settings: Settings) -> Generator:
    """The generator the settings name (see `Settings.generator`)."""
    spec = settings.generator.strip()
    if spec.startswith("openai:"):
        return _openai_generator(spec.removeprefix("openai:").strip(), settings)
    if spec in model_assets.BUNDLED:
        from service.engines.bundled import bundled_generator  # engines load only when a local model is wanted

        return bundled_generator(model_assets.BUNDLED[spec], settings)
    if not spec:
        raise GeneratorConfigError("PAPERBRIEF_GENERATOR is empty; use 'bundled', a model id/path or 'openai:<model>'")
    return _hub_or_path_generator(spec, settings)


def _openai_generator(model: str, settings: Settings) -> OpenAIGenerator:
    if not model:
        raise GeneratorConfigError("generator 'openai:' needs a model name, e.g. 'openai:qwen2.5:7b'")
    if not settings.generator_base_url:
        raise GeneratorConfigError(
            f"generator 'openai:{model}' needs the server's base URL: set PAPERBRIEF_GENERATOR_BASE_URL "
            "(e.g. http://localhost:8000/v1 for vLLM, http://localhost:11434/v1 for Ollama)"
        )
    return OpenAIGenerator(model, settings.generator_base_url, settings.generator_api_key)


def _hub_or_path_generator(spec: str, settings: Settings) -> Generator:
    from service.engines.transformers_generator import LocalGenerator

    try:
        return LocalGenerator(spec, name=spec, device=settings.generator_device, dtype=settings.generator_dtype,
                              threads=settings.threads)
    except OSError as error:
        offline = os.environ.get("HF_HUB_OFFLINE", "1").lower() in ("1", "true", "yes", "on")
        if Path(spec).exists() or not offline:
            raise
        raise GeneratorConfigError(
            f"generator {spec!r} is not a local model directory nor in the Hugging Face cache, and hub "
            "downloads are off (HF_HUB_OFFLINE=1). Export HF_HUB_OFFLINE=0 to download it, or set "
            "PAPERBRIEF_GENERATOR to a local path."
        ) from error


_SHARED: dict[tuple[Any, ...], Generator] = {}
_SHARED_LOCK = threading.Lock()


def shared_generator(settings: Settings) -> Generator:
    """One generator per configuration per process: models are big and safe to share."""
    key = (
        settings.generator,
        settings.generator_base_url,
        settings.generator_device,
        settings.generator_dtype,
        settings.tuned_adapters,
        settings.tuned_beams,
        settings.tuned_samples,
        settings.engine,
        settings.threads,
        settings.slots,
        settings.context_tokens,
    )
    with _SHARED_LOCK:  # also makes a second caller wait for the first load instead of loading twice
        if key not in _SHARED:
            _SHARED[key] = make_generator(settings)
        return _SHARED[key]
