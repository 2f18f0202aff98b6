"""The bundled GGUF models as a `Generator`, run by llama.cpp (`service.engines.llamacpp`).

Every request names every loaded adapter's scale (0 or 1), so no request ever inherits another's
adapter. Prompts are fitted to a slot's context here, before llama.cpp sees them: the last user
message is shortened until prompt + answer fit. Structured replies go through llama.cpp's
JSON-schema constrained decoding, so they always parse.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from typing import Any

from service.engines.llamacpp import EngineError, LlamaServer, RequestError
from service.engines.protocol import Message, cut_at_stop, stream_until_stop

SAMPLE_TEMPERATURE = 0.7  # for best-of-N candidates: varied enough to differ, close to the greedy text
SAMPLE_SEED = 0  # fixed, so the same paper gets the same candidates (llama.cpp's parallel children may still vary)
_CHOICE_LOGPROBS = 100  # top alternatives reported for the first token when scoring fixed choices
_UNLISTED = -1e4  # a choice's first token outside those alternatives: all but impossible


class LlamaCppGenerator:
    """A GGUF chat model in this process: greedy, streaming, many requests decoded together."""

    def __init__(self, server: LlamaServer, name: str, adapters: dict[str, int] | None = None, samples: int = 1,
                 adapter_names: dict[str, str] | None = None, writes_comparisons: bool = True):
        self._server = server
        self.name = name
        self.writes_comparisons = writes_comparisons  # `ComparisonWriter`
        self._adapters = dict(adapters or {})  # task -> index of its LoRA in the server's adapter list
        self._adapter_names = dict(adapter_names or {})  # task -> name in cache keys (carries the file digest)
        self._samples = samples
        self._tuned: dict[str, AdaptedLlamaCpp] = {}
        self.engine = "llama.cpp"
        self.parallel = server.config.slots  # requests decoded together
        self.batch_width = server.config.batch_width  # of those, how many batch work may take (`BatchWidth`)

    # --- Generator ----------------------------------------------------------------------------

    def stream(self, messages: list[Message], *, max_new_tokens: int = 256, stop: Sequence[str] = (),
               adapter: int | None = None) -> Iterator[str]:
        request = self.request(messages, max_new_tokens, stop, adapter)  # here, so a bad conversation fails now
        return stream_until_stop(self._server.chat_stream(request), stop)

    def generate(self, batch: list[list[Message]], *, max_new_tokens: int = 256, stop: Sequence[str] = (),
                 adapter: int | None = None) -> list[str]:
        replies = self._server.chat_many([self.request(m, max_new_tokens, stop, adapter) for m in batch])
        return [cut_at_stop(_text(reply), stop) for reply in replies]

    def count_tokens(self, text: str) -> int:
        return len(self._server.tokenize(text))

    # --- optional capabilities ----------------------------------------------------------------

    def score_choices(self, messages: list[Message], choices: Sequence[str]) -> list[float]:
        """Log-probability of each choice's first token opening the reply (one prompt pass, no decoding)."""
        # prefilled whole every time (no slot cache): a judgement must not move with what ran before it
        reply = self._server.chat(dict(self.request(messages, 1, ()), logprobs=True, top_logprobs=_CHOICE_LOGPROBS,
                                       cache_prompt=False))
        first = (reply["choices"][0].get("logprobs") or {}).get("content") or []
        if not first:
            raise EngineError("llama.cpp returned no log-probabilities for the first token")
        known = {alt["id"]: alt["logprob"] for alt in first[0]["top_logprobs"]}
        if not all(choices):
            raise ValueError("every choice needs at least one character")
        return [known.get(self._server.tokenize(choice)[0], _UNLISTED) for choice in choices]

    def score_continuations(self, batch: list[list[Message]], text: str) -> list[list[float]]:
        """Per conversation, the log-probability of each token of `text` as its reply, the conversations
        decoded together. The reply is forced by a grammar of its own token ids (a grammar of its characters
        lets llama.cpp spell it in unlikely pieces: "the"+"re"); the log-probabilities reported are the
        model's own, before the grammar."""
        ids = self._server.tokenize(text)
        if not ids:
            raise ValueError("the continuation to score is empty")
        if len(ids) > self._server.config.context_per_slot // 2:  # `request` caps a reply there
            raise RequestError(f"a continuation of {len(ids)} tokens is too long to score "
                               f"(at most {self._server.config.context_per_slot // 2})")
        grammar = "root ::= " + " ".join(f"<[{token}]>" for token in ids)
        # prefilled whole every time: with a slot's cached opening the same question and papers scored
        # again moved by up to a nat (docs/BENCHMARKS.md, session 31); without it they repeat exactly
        requests = [dict(self.request(m, len(ids), ()), logprobs=True, grammar=grammar, cache_prompt=False)
                    for m in batch]
        return [_forced(reply, ids) for reply in self._server.chat_many(requests)]

    def sample(self, messages: list[Message], n: int, *, temperature: float, seed: int = SAMPLE_SEED,
               max_new_tokens: int = 256, stop: Sequence[str] = ()) -> list[str]:
        """`n` sampled replies to one conversation (no adapter), a slot's worth at a time: the children
        of one request share its prefill."""
        choices = self.sampled_choices(self.request(messages, max_new_tokens, stop), n, temperature, seed)
        return [cut_at_stop(choice["message"]["content"] or "", stop) for choice in choices]

    def sampled_choices(self, request: dict[str, Any], n: int, temperature: float, seed: int) -> list[dict[str, Any]]:
        """`n` sampled choices (OpenAI shape) for one request, a slot's worth a call, each call its own seed."""
        choices, slots = [], self._server.config.slots  # llama.cpp decodes at most one child a slot
        for start in range(0, n, slots):
            choices += self._server.chat(dict(request, n=min(slots, n - start), temperature=temperature,
                                              seed=seed + start))["choices"]
        return choices

    def generate_json(self, batch: list[list[Message]], schema: dict[str, Any], *,
                      max_new_tokens: int = 512) -> list[dict[str, Any] | None]:
        """One object per conversation, decoded under `schema` (constrained: it always parses), or None
        for a reply the token cap cut short (bound every string with maxLength so that can't happen)."""
        requests = [dict(self.request(m, max_new_tokens, ()), json_schema=schema) for m in batch]
        replies = self._server.chat_many(requests)
        return [None if reply["choices"][0].get("finish_reason") == "length" else json.loads(_text(reply))
                for reply in replies]

    def tuned_for(self, task: str) -> AdaptedLlamaCpp | None:
        """This model with the adapter trained for `task` active, if it has one (see `TaskTuned`)."""
        if task not in self._adapters:
            return None
        if task not in self._tuned:
            samples = f"+samples{self._samples}" if self._samples > 1 else ""
            adapter = self._adapter_names.get(task, f"{task}-adapter")
            self._tuned[task] = AdaptedLlamaCpp(self, f"{self.name}+{adapter}{samples}", self._adapters[task],
                                                self._samples)
        return self._tuned[task]

    # --- requests -----------------------------------------------------------------------------

    def request(self, messages: list[Message], max_new_tokens: int, stop: Sequence[str],
                adapter: int | None = None) -> dict[str, Any]:
        """A greedy chat request that fits a slot, with every adapter's scale given explicitly."""
        max_new_tokens = min(max_new_tokens, self._server.config.context_per_slot // 2)
        return {
            "messages": self._fit(messages, max_new_tokens),
            "max_tokens": max_new_tokens,
            "temperature": 0.0,
            "stop": [s for s in stop if s] or None,
            "lora": [{"id": i, "scale": 1.0 if i == adapter else 0.0} for i in range(len(self._server.config.adapters))],
        }

    def _fit(self, messages: list[Message], max_new_tokens: int) -> list[Message]:
        """The conversation with the middle of its last user message cut until prompt + answer fit the
        slot: prompts put their data (papers, sources) there and the instruction or question at the end."""
        _check_roles(messages)
        users = [i for i, m in enumerate(messages) if m["role"] == "user"]
        budget = self._server.config.context_per_slot - max_new_tokens
        fitted = list(messages)
        for _ in range(8):
            excess = self._prompt_tokens_over(fitted, budget)
            if excess <= 0:
                return fitted
            if not users:
                break
            content = fitted[users[-1]]["content"]
            per_token = len(content) / max(len(self._server.tokenize(content)), 1)  # characters a token, here
            cut = math.ceil(excess * per_token * 1.05) + 8
            tail = min(len(content) // 4, 600, int(budget * per_token / 4))  # the question, within reason
            if cut > len(content) - tail - 1:
                break
            head = len(content) - tail - cut
            fitted[users[-1]] = {"role": "user", "content": f"{content[:head]}…{content[len(content) - tail:]}"}
        raise RequestError(f"the prompt does not fit {self._server.config.context_per_slot} tokens with "
                           f"{max_new_tokens} for the answer, even with its last message shortened "
                           "(PAPERBRIEF_CONTEXT_TOKENS)")

    def _prompt_tokens_over(self, messages: list[Message], budget: int) -> int:
        """Tokens the rendered prompt has beyond `budget` (≤ 0: it fits). A token covers at least one
        byte, so a prompt with no more bytes than the budget fits without being tokenised."""
        rendered = self._server.render_chat(messages)
        if len(rendered.encode()) <= budget:
            return 0
        return len(self._server.tokenize(rendered, special=True)) - budget


class AdaptedLlamaCpp:
    """The same model with one LoRA adapter applied to these requests only; its own name keeps caches
    apart. With `samples` > 1 it also offers N sampled candidates (`CandidateWriter`)."""

    def __init__(self, base: LlamaCppGenerator, name: str, adapter: int, samples: int = 1):
        self._base, self.name, self._adapter, self._samples = base, name, adapter, samples

    def stream(self, messages: list[Message], *, max_new_tokens: int = 256, stop: Sequence[str] = ()) -> Iterator[str]:
        return self._base.stream(messages, max_new_tokens=max_new_tokens, stop=stop, adapter=self._adapter)

    def generate(self, batch: list[list[Message]], *, max_new_tokens: int = 256, stop: Sequence[str] = ()) -> list[str]:
        return self._base.generate(batch, max_new_tokens=max_new_tokens, stop=stop, adapter=self._adapter)

    def generate_candidates(self, batch: list[list[Message]], *, max_new_tokens: int = 256,
                            stop: Sequence[str] = ()) -> list[list[str]]:
        """The greedy answer first, then `samples - 1` sampled ones by mean token log-probability."""
        if self._samples == 1:
            return [[text] for text in self.generate(batch, max_new_tokens=max_new_tokens, stop=stop)]
        return [[cut_at_stop(c["text"], stop) for c in found]
                for found in self.scored_candidates(batch, max_new_tokens=max_new_tokens, stop=stop)]

    def scored_candidates(self, batch: list[list[Message]], *, max_new_tokens: int = 256,
                          stop: Sequence[str] = ()) -> list[list[dict[str, Any]]]:
        """Per conversation: greedy then samples, each {"text", "logprob", "tokens", "mean_logprob", "greedy"}.
        The samples follow the greedy request, so llama.cpp finds the prompt already in that slot's cache."""
        server = self._base._server

        def candidates(messages: list[Message]) -> list[dict[str, Any]]:
            request = dict(self._base.request(messages, max_new_tokens, stop, self._adapter), logprobs=True)
            greedy = server.chat(request)["choices"][0]
            sampled = self._base.sampled_choices(request, self._samples - 1, SAMPLE_TEMPERATURE, SAMPLE_SEED)
            samples = sorted((_scored(c, False) for c in sampled), key=lambda c: -c["mean_logprob"])
            return [_scored(greedy, True), *samples]

        return server.map(candidates, batch)

    def count_tokens(self, text: str) -> int:
        return self._base.count_tokens(text)


def _scored(choice: dict[str, Any], greedy: bool) -> dict[str, Any]:
    logprobs = [token["logprob"] for token in (choice.get("logprobs") or {}).get("content") or []]
    total = sum(logprobs)
    return {"text": choice["message"]["content"] or "", "logprob": total, "tokens": len(logprobs),
            "mean_logprob": total / max(len(logprobs), 1), "greedy": greedy}


def _forced(reply: dict[str, Any], ids: list[int]) -> list[float]:
    tokens = ((reply["choices"][0].get("logprobs") or {}).get("content") or [])[: len(ids)]
    if [token.get("id") for token in tokens] != ids:
        raise EngineError("llama.cpp did not decode the forced continuation it was given")
    return [token["logprob"] for token in tokens]


def _text(reply: dict[str, Any]) -> str:
    return reply["choices"][0]["message"]["content"] or ""


def _check_roles(messages: list[Message]) -> None:
    for message in messages:
        if message.get("role") not in ("system", "user", "assistant"):
            raise ValueError(f"message role must be system, user or assistant, not {message.get('role')!r}")
