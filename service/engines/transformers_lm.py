"""The transformers / torch generation engine: load a causal LM, stream, batch, beam search, LoRA.

The fallback engine for the bundled models where llama.cpp's wheel can't run, and the engine for any
Hugging Face model id or path. Used only through `service.engines.transformers_generator`.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from index.hf import auto_device, set_threads, torch_dtype


def convert_gguf(gguf_path: Path, out_dir: Path) -> None:
    """Dequantize a GGUF checkpoint once and save it as a plain bf16 safetensors model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    with _one_gguf_parse():
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=name, dtype=torch.bfloat16, **_dense_gguf_options()
        )
    # The weights are dense now; a GGUF quantizer left attached refuses to save, and its
    # config entry would make every reload go through the quantizer again.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


@contextlib.contextmanager
def _one_gguf_parse() -> Iterator[None]:
    """transformers parses the GGUF once each for the tokenizer, the config and the weights, and a parse
    reads 300,000 vocabulary and merge entries one by one in Python (25 s on a slow CPU): here the first
    parse of a path serves the others. Should transformers stop asking `gguf` for its reader at load
    time, this changes nothing."""
    import gguf

    original = gguf.GGUFReader
    gguf.GGUFReader = functools.cache(original)
    try:
        yield
    finally:
        gguf.GGUFReader = original


def _dense_gguf_options() -> dict:
    # Newer transformers can keep GGUF blocks packed (given the `kernels` package); those
    # can't be saved as safetensors, so ask for dense weights whenever the option exists.
    try:
        from transformers import GgufConfig
    except ImportError:
        return {}
    return {"quantization_config": GgufConfig(dequantize=True)}


def generator_dtype(name: str, device: str) -> torch.dtype:
    """`auto`: bf16 where the hardware computes it natively, fp16 on other GPUs and MPS, else fp32."""
    if name != "auto" or device == "cpu":
        return torch_dtype(name, device)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float16  # MPS has no fast bf16


class _Halt:
    """Stopping criterion: the request was cancelled, or a row's new text hit a stop string."""

    def __init__(self, tokenizer, prompt_len: int, stop: Sequence[str], cancel: threading.Event):
        self._tokenizer = tokenizer
        self._prompt_len = prompt_len
        self._stop = [s for s in stop if s]
        # A stop string can't span more tokens than it has characters (plus partial-byte tokens).
        self._window = max((len(s) for s in self._stop), default=0) + 2
        self._cancel = cancel

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        rows = input_ids.shape[0]
        if self._cancel.is_set():
            return torch.ones(rows, dtype=torch.bool, device=input_ids.device)
        done = [False] * rows
        if self._stop:
            tails = input_ids[:, self._prompt_len :][:, -self._window :].tolist()
            texts = self._tokenizer.batch_decode(tails, skip_special_tokens=True)
            done = [any(s in text for s in self._stop) for text in texts]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class CausalLM:
    """A chat model shared by concurrent requests: greedy, one `generate` at a time."""

    def __init__(self, path: str, device: str | None = None, dtype: str = "auto", threads: int | None = None):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        set_threads(threads)
        self.device = device or auto_device()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForCausalLM.from_pretrained(
            path, dtype=generator_dtype(dtype, self.device), device_map=self.device
        )
        self.model.eval()
        self._greedy = _greedy_config(self.model.generation_config, self.tokenizer)
        self._pad_id = int(self._greedy.pad_token_id)
        self._lock = threading.Lock()
        self._prefix = _PrefixCache()
        self._adapters = _Adapters(self.model)

    def load_adapter(self, name: str, path: str) -> None:
        """Attach a LoRA adapter that `generate(..., adapter=name)` applies (see `_Adapters`)."""
        with self._lock:
            self._adapters.load(name, path)

    def encode_chat(self, messages: list[dict[str, str]]) -> list[int]:
        # Render then tokenize without special tokens: templates already carry BOS where needed.
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def first_token_logprobs(self, prompt: list[int], continuations: Sequence[str]) -> list[float]:
        """Log-probability of each continuation's first token right after `prompt`: one forward pass,
        no decoding (classification by scoring the answer words instead of generating them)."""
        first = [self.tokenizer(text, add_special_tokens=False)["input_ids"][0] for text in continuations]
        with self._lock, torch.inference_mode():
            logits = self.model(input_ids=torch.tensor([prompt], device=self.model.device)).logits[0, -1]
            logprobs = torch.log_softmax(logits.float(), dim=-1)
        return [float(logprobs[token]) for token in first]

    def continuation_logprobs(self, prompt: list[int], text: str) -> list[float]:
        """Log-probability of each token of `text` right after `prompt`: one forward pass, no decoding."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        with self._lock, torch.inference_mode():
            logits = self.model(input_ids=torch.tensor([prompt + ids], device=self.model.device)).logits[0]
            logprobs = torch.log_softmax(logits[len(prompt) - 1 : -1].float(), dim=-1)
        return logprobs[torch.arange(len(ids)), torch.tensor(ids)].tolist()

    def stream(self, prompt: list[int], max_new_tokens: int, stop: Sequence[str] = ()) -> Iterator[str]:
        """Text pieces as they are decoded; closing the iterator early cancels the generation."""
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancel, failure = threading.Event(), []
        ids, mask = self._left_pad([prompt])
        with self._lock:
            worker = threading.Thread(
                target=self._stream_worker,
                args=(ids, mask, max_new_tokens, stop, cancel, streamer, failure),
                name="paperbrief-generate",
                daemon=True,
            )
            worker.start()
            try:
                for piece in streamer:
                    if piece:
                        yield piece
            finally:
                cancel.set()  # a no-op after a normal end; stops the model if the consumer left
                worker.join()
        if failure:
            raise failure[0]

    def _stream_worker(self, ids, mask, max_new_tokens, stop, cancel, streamer, failure) -> None:
        try:
            with torch.inference_mode():
                cache = self._prefix.lookup(ids[0].tolist(), self.model)
            self._generate(ids, mask, max_new_tokens, stop, cancel, streamer, cache)
        except BaseException as error:  # noqa: BLE001  # re-raised in the consumer's thread
            failure.append(error)
            streamer.end()  # unblocks the consumer, which would otherwise wait forever

    def generate(
        self, prompts: list[list[int]], max_new_tokens: int, stop: Sequence[str] = (), batch_size: int = 8,
        adapter: str | None = None, beams: int = 1,
    ) -> list[str]:
        """Completions for many prompts, left-padded into batches of `batch_size`: greedy, or the best
        of `beams` beams (beam search; stop strings are then cut by the caller); with `adapter`, that
        loaded LoRA adapter is active for these batches only."""
        if beams > 1:
            return [found[0] for found in self.generate_beams(prompts, max_new_tokens, beams, batch_size, adapter)]
        texts: list[str] = []
        for start in range(0, len(prompts), batch_size):
            ids, mask = self._left_pad(prompts[start : start + batch_size])
            with self._lock, self._adapters.active(adapter):
                out = self._generate(ids, mask, max_new_tokens, stop, threading.Event())
            texts.extend(self.tokenizer.batch_decode(out[:, ids.shape[1] :].tolist(), skip_special_tokens=True))
        return texts

    def generate_beams(
        self, prompts: list[list[int]], max_new_tokens: int, beams: int, batch_size: int = 8,
        adapter: str | None = None,
    ) -> list[list[str]]:
        """Every finished beam of a `beams`-wide search for each prompt, best first (stop strings are
        cut by the caller), so the caller can take the best one that meets its own constraints."""
        found: list[list[str]] = []
        for ids, out in self._beam_batches(prompts, max_new_tokens, beams, batch_size, adapter, {}):
            texts = self.tokenizer.batch_decode(out[:, ids.shape[1] :].tolist(), skip_special_tokens=True)
            found.extend(texts[row : row + beams] for row in range(0, len(texts), beams))
        return found

    def scored_beams(
        self, prompts: list[list[int]], max_new_tokens: int, beams: int, batch_size: int = 8,
        adapter: str | None = None, length_penalty: float = 1.0, early_stopping: bool | str = True,
    ) -> list[list[dict]]:
        """`generate_beams` for studies: each beam as {"text", "score", "tokens"}, its score transformers'
        `sequences_scores` (summed token log-probability / new tokens ** `length_penalty`). The search
        keeps every step's scores while it runs (memory); the product uses `generate_beams`."""
        options = {"length_penalty": length_penalty, "early_stopping": early_stopping,
                   "return_dict_in_generate": True, "output_scores": True}
        found: list[list[dict]] = []
        for ids, out in self._beam_batches(prompts, max_new_tokens, beams, batch_size, adapter, options):
            new = out.sequences[:, ids.shape[1] :]
            texts = self.tokenizer.batch_decode(new.tolist(), skip_special_tokens=True)
            rows = [{"text": text, "score": score, "tokens": tokens} for text, score, tokens in
                    zip(texts, out.sequences_scores.tolist(), (new != self._pad_id).sum(-1).tolist(), strict=True)]
            found.extend(rows[row : row + beams] for row in range(0, len(rows), beams))
        return found

    def _beam_batches(self, prompts, max_new_tokens, beams, batch_size, adapter, options: dict):
        """(left-padded ids, `beam_search` output) per batch of prompts; `options` set on the search's config."""
        for start in range(0, len(prompts), batch_size):
            ids, mask = self._left_pad(prompts[start : start + batch_size])
            config = self._beam_config(max_new_tokens, beams, options)
            with self._lock, self._adapters.active(adapter):
                out = beam_search(self.model, ids, mask, config)
            yield ids, out

    def _beam_config(self, max_new_tokens: int, beams: int, options: dict):
        config = copy.deepcopy(self._greedy)  # every beam returned, best first; then `options` on top
        config.max_new_tokens, config.num_beams, config.num_return_sequences = max_new_tokens, beams, beams
        for key, value in {"early_stopping": True, **options}.items():
            setattr(config, key, value)
        return config

    def _left_pad(self, prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        # Padding by hand: tokenizer.pad would mutate the shared fast tokenizer's padding state.
        width = max(len(p) for p in prompts)
        ids = [[self._pad_id] * (width - len(p)) + p for p in prompts]
        mask = [[0] * (width - len(p)) + [1] * len(p) for p in prompts]
        return torch.tensor(ids), torch.tensor(mask)

    def _generate(self, ids, mask, max_new_tokens, stop, cancel, streamer=None, cache=None) -> torch.Tensor:
        # inference_mode is thread-local, so it is entered here, in whichever thread generates.
        halt = _Halt(self.tokenizer, ids.shape[1], stop, cancel)
        config = copy.deepcopy(self._greedy)  # per call: transformers rejects config + overrides
        config.max_new_tokens = max_new_tokens
        with torch.inference_mode():
            return self.model.generate(
                input_ids=ids.to(self.model.device),
                attention_mask=mask.to(self.model.device),
                generation_config=config,
                stopping_criteria=[halt],
                streamer=streamer,
                **({"cache": cache} if cache is not None else {}),
            )


def beam_search(model, ids: torch.Tensor, mask: torch.Tensor, config) -> torch.Tensor:
    """`model.generate` with `config.num_beams` beams whose prompt is prefilled once, not once per beam.

    transformers copies each prompt to its beams before the first forward pass, so a 4-beam search
    prefills every prompt 4 times; prompts are long and answers short here, which made beam search
    3× slower than greedy. Prefilling all but the last token and copying the keys/values to the
    beams gives the same beams (checked against transformers' own) for ≈ 1.3× the greedy time."""
    from transformers import DynamicCache

    ids, mask = ids.to(model.device), mask.to(model.device)
    with torch.inference_mode():
        if ids.shape[1] < 2:  # nothing to share: generate needs one uncached token to start from
            return model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
        cache = DynamicCache()
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: positions count real tokens only
        # logits_to_keep=1: only the cache is wanted; logits for every prompt position of a batch of 8
        # would hold ≈ 1 GB (151k-word vocabulary) and raised peak RSS from 2.6 to 3.8 GB.
        model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions[:, :-1],
              cache=cache, use_cache=True, **_last_logits_only(model))
        cache.batch_repeat_interleave(config.num_beams)
        return model.generate(input_ids=ids, attention_mask=mask, generation_config=config, cache=cache)


def read_lora(path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """A LoRA adapter file: `<linear module>` -> (A, scale · B) in float32, the file's `scale` metadata
    folded into B (1 when absent)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as file:
        scale = float((file.metadata() or {}).get("scale", "1"))
        return {key.removesuffix(".lora_A"): (file.get_tensor(key).float(),
                                              file.get_tensor(key.replace(".lora_A", ".lora_B")).float() * scale)
                for key in file.keys() if key.endswith(".lora_A")}


class _Adapters:
    """LoRA adapters on top of the shared model: the base weights are never changed.

    A file (safetensors) holds `<linear module>.lora_A` (rank × in) and `.lora_B` (out × rank) and a
    `scale` in its metadata. Forward hooks on those Linear layers add scale · B(A x) while the
    adapter is active, which is only inside `active(name)` under the model lock, so requests
    without it (answers, comparisons) see the plain model. Rank-16 or 32 deltas cost little next to the
    layers themselves, and keeping them unmerged needs no second copy of the weights.
    """

    def __init__(self, model) -> None:
        self._model = model
        self._deltas: dict[str, dict[str, tuple[torch.Tensor, torch.Tensor]]] = {}  # adapter -> module -> A, B
        self._hooked: set[str] = set()
        self._current: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None

    def load(self, name: str, path: str) -> None:
        if name in self._deltas:
            return
        modules = dict(self._model.named_modules())
        deltas = {}
        for module, (lora_a, lora_b) in read_lora(path).items():
            layer = modules.get(module)
            if not isinstance(layer, torch.nn.Linear):
                raise ValueError(f"adapter {path}: {module!r} is not a linear layer of this model")
            if lora_a.shape[1] != layer.in_features or lora_b.shape[0] != layer.out_features:
                raise ValueError(f"adapter {path}: {module!r} shapes {tuple(lora_a.shape)}/{tuple(lora_b.shape)} "
                                 f"do not fit a {layer.in_features}→{layer.out_features} layer (another model's?)")
            on = {"device": layer.weight.device, "dtype": layer.weight.dtype}
            deltas[module] = (lora_a.to(**on), lora_b.to(**on))
        if not deltas:
            raise ValueError(f"adapter {path}: no '<layer>.lora_A' tensors")
        for module in deltas.keys() - self._hooked:
            modules[module].register_forward_hook(self._hook(module))
            self._hooked.add(module)
        self._deltas[name] = deltas

    def _hook(self, module: str):
        def add_delta(_layer, inputs, output):
            pair = self._current.get(module) if self._current else None
            if pair is None:
                return None
            lora_a, lora_b = pair
            return output + (inputs[0] @ lora_a.T) @ lora_b.T

        return add_delta

    @contextlib.contextmanager
    def active(self, name: str | None):
        if name is not None and name not in self._deltas:
            raise KeyError(f"no adapter {name!r} loaded (loaded: {', '.join(self._deltas) or 'none'})")
        self._current = self._deltas[name] if name else None
        try:
            yield
        finally:
            self._current = None


class _PrefixCache:
    """Keys/values of the prompt prefix that requests share (system prompt, few-shot example).

    Task prompts start with the same rendered template, so after two requests agree on their first
    `MIN_TOKENS` tokens, that prefix is run once and every later request that starts with it only
    prefills its own part: less time to the first token. Only the single-prompt streaming path uses
    it (batched prompts are left-padded, so their prefixes don't line up). Call under the model lock.
    """

    MIN_TOKENS = 32

    def __init__(self) -> None:
        self.prefix: list[int] = []
        self._cache = None
        self._last: list[int] = []
        self.hits = 0

    def lookup(self, prompt: list[int], model):
        """A private copy of the cached prefix's keys/values if `prompt` extends it, else None."""
        last, self._last = self._last, prompt
        if not (self.prefix and prompt[: len(self.prefix)] == self.prefix and len(prompt) > len(self.prefix)):
            shared = _common_length(last, prompt)
            if shared < self.MIN_TOKENS:
                return None
            self._build(prompt[: min(shared, len(prompt) - 1)], model)
        self.hits += 1
        return copy.deepcopy(self._cache)

    def _build(self, prefix: list[int], model) -> None:
        from transformers import DynamicCache

        cache = DynamicCache()
        model(input_ids=torch.tensor([prefix], device=model.device), cache=cache, use_cache=True,
              **_last_logits_only(model))
        self.prefix, self._cache = prefix, cache


def _last_logits_only(model) -> dict:
    """Forward options that skip the logits of all but the last position, where the model has them."""
    import inspect

    return {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}


def _common_length(one: list[int], other: list[int]) -> int:
    length = 0
    for a, b in zip(one, other, strict=False):  # the common prefix: stops at the shorter
        if a != b:
            break
        length += 1
    return length


def _greedy_config(config, tokenizer):
    """The model's generation config with sampling switched off (instruct models ship it on)."""
    greedy = copy.deepcopy(config)
    greedy.do_sample = False
    greedy.temperature = greedy.top_p = greedy.top_k = greedy.min_p = None
    eos = greedy.eos_token_id if greedy.eos_token_id is not None else tokenizer.eos_token_id
    eos = list(eos) if isinstance(eos, (list, tuple)) else [eos]
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in eos:
        eos.append(tokenizer.eos_token_id)  # chat end marker when the config names only <eos>
    greedy.eos_token_id = eos
    if greedy.pad_token_id is None:
        greedy.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0]
    return greedy
