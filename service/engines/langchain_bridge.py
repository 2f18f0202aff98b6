"""LangChain over any `Generator`: message conversion and a chat model, so `prompt | model | parser`
chains run on whichever engine is configured (or on a fake in tests)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

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

from service.engines.protocol import Message

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
