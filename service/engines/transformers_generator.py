"""Transformers chat models as a `Generator`: any Hugging Face model id or path, and the bundled
models where llama.cpp can't run (`service.engines.transformers_lm` does the torch work)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from service.engines import transformers_lm as hf
from service.engines.protocol import Generator, Message, cut_at_stop, stream_until_stop


class LocalGenerator:
    """A chat model run in-process by transformers (greedy; one generation at a time)."""

    def __init__(
        self,
        model_path: str,
        name: str | None = None,
        device: str | None = None,
        dtype: str = "auto",
        threads: int | None = None,
        adapters: dict[str, Path] | None = None,
        tuned_beams: int = 1,
        writes_comparisons: bool = True,
    ):
        self._lm = hf.CausalLM(model_path, device=device, dtype=dtype, threads=threads)
        self.name = name or model_path
        self.engine = "transformers"
        self._adapters = dict(adapters or {})  # task -> LoRA file trained for this very model
        self._tuned_beams = tuned_beams
        self.writes_comparisons = writes_comparisons  # `ComparisonWriter`
        self._tuned: dict[str, AdaptedGenerator] = {}

    def tuned_for(self, task: str) -> Generator | None:
        """This model with the adapter trained for `task` active, if it has one (see `TaskTuned`)."""
        if task not in self._adapters:
            return None
        if task not in self._tuned:
            path = self._adapters[task]
            # the file's digest is in the name, so caches keyed on it never serve a retrained adapter's work
            adapter = f"{task}-{path.stem}-{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"
            self._lm.load_adapter(adapter, str(path))
            beams = f"+beams{self._tuned_beams}" if self._tuned_beams > 1 else ""
            self._tuned[task] = AdaptedGenerator(self._lm, f"{self.name}+{adapter}{beams}", adapter,
                                                 self._tuned_beams)
        return self._tuned[task]

    def stream(self, messages: list[Message], *, max_new_tokens: int = 256, stop: Sequence[str] = ()) -> Iterator[str]:
        prompt = self._lm.encode_chat(messages)  # here, so a bad conversation fails at the call
        return stream_until_stop(self._lm.stream(prompt, max_new_tokens, stop), stop)

    def generate(self, batch: list[list[Message]], *, max_new_tokens: int = 256, stop: Sequence[str] = ()) -> list[str]:
        if not batch:
            return []
        prompts = [self._lm.encode_chat(messages) for messages in batch]
        return [cut_at_stop(text, stop) for text in self._lm.generate(prompts, max_new_tokens, stop)]

    def count_tokens(self, text: str) -> int:
        return self._lm.count_tokens(text)

    def score_choices(self, messages: list[Message], choices: Sequence[str]) -> list[float]:
        """Log-probability of each choice's first token opening the reply (optional `ChoiceScorer`)."""
        return self._lm.first_token_logprobs(self._lm.encode_chat(messages), choices)

    def score_continuations(self, batch: list[list[Message]], text: str) -> list[list[float]]:
        """Per conversation, the log-probability of each token of `text` as its reply (`ContinuationScorer`)."""
        return [self._lm.continuation_logprobs(self._lm.encode_chat(messages), text) for messages in batch]


class AdaptedGenerator:
    """A loaded LoRA adapter over a `LocalGenerator`'s model: batched generation only, which is
    what the tuned tasks use; same weights in memory, its own name so caches keep outputs apart.
    With `beams` > 1 it returns the best of that many beams (4 beams added +1.1 ROUGE-1 to the
    TL;DR adapter's greedy output on SciTLDR dev, docs/BENCHMARKS.md)."""

    def __init__(self, lm, name: str, adapter: str, beams: int = 1):
        self._lm, self.name, self._adapter, self._beams = lm, name, adapter, beams

    def stream(self, messages: list[Message], *, max_new_tokens: int = 256, stop: Sequence[str] = ()) -> Iterator[str]:
        yield from self.generate([messages], max_new_tokens=max_new_tokens, stop=stop)

    def generate(self, batch: list[list[Message]], *, max_new_tokens: int = 256, stop: Sequence[str] = ()) -> list[str]:
        if not batch:
            return []
        prompts = [self._lm.encode_chat(messages) for messages in batch]
        texts = self._lm.generate(prompts, max_new_tokens, stop, adapter=self._adapter, beams=self._beams)
        return [cut_at_stop(text, stop) for text in texts]

    def generate_candidates(self, batch: list[list[Message]], *, max_new_tokens: int = 256,
                            stop: Sequence[str] = ()) -> list[list[str]]:
        """Every beam per conversation, best first (optional `CandidateWriter`); greedy gives one."""
        if self._beams == 1:
            return [[text] for text in self.generate(batch, max_new_tokens=max_new_tokens, stop=stop)]
        prompts = [self._lm.encode_chat(messages) for messages in batch]
        found = self._lm.generate_beams(prompts, max_new_tokens, self._beams, adapter=self._adapter) if prompts else []
        return [[cut_at_stop(text, stop) for text in texts] for texts in found]

    def scored_beams(self, batch: list[list[Message]], *, beams: int, max_new_tokens: int = 256, batch_size: int = 8,
                     length_penalty: float = 1.0, early_stopping: bool | str = True) -> list[list[dict]]:
        """For studies of choices among beams: every beam of a `beams`-wide search (≥ 2) per conversation,
        best first, as {"text" (uncut), "score", "tokens"}; see `CausalLM.scored_beams`."""
        prompts = [self._lm.encode_chat(messages) for messages in batch]
        return self._lm.scored_beams(prompts, max_new_tokens, beams, batch_size, self._adapter,
                                     length_penalty, early_stopping) if prompts else []

    def count_tokens(self, text: str) -> int:
        return self._lm.count_tokens(text)
