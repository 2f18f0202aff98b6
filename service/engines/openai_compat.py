"""Any OpenAI-compatible chat server (vLLM, Ollama, llama.cpp's server, OpenAI) as a `Generator`,
through LangChain's OpenAI client."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.messages import AIMessageChunk

from service.engines.langchain_bridge import to_langchain
from service.engines.protocol import Message, cut_at_stop, stream_until_stop


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
