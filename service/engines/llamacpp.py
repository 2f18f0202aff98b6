"""The one boundary module to llama.cpp (the `xllamacpp` wheel): a GGUF model served in-process.

llama.cpp's server runs inside this process with several slots, continuous batching and a per-slot
prompt cache. Its HTTP listener cannot be switched off, so it binds 127.0.0.1 on a free port and
refuses any request without a random key that only this object knows; paperbrief itself calls the
server's Python methods and uses the listener only for tokenising (`/tokenize`, `/apply-template`).
"""

from __future__ import annotations

import logging
import platform
import queue
import secrets
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from index.cpu import cpu_flags

log = logging.getLogger(__name__)

Message = dict[str, str]
_END = object()  # queue marker: the generation finished (or failed)
_TIMEOUT = httpx.Timeout(60.0).as_dict()


class EngineError(RuntimeError):
    """llama.cpp could not load the model, or failed a request (the message says why)."""


class RequestError(ValueError):
    """A request this engine can't serve as asked (too long for a slot, an answer cut by its cap)."""


@dataclass(frozen=True)
class EngineConfig:
    gguf: Path
    threads: int  # CPU threads for decoding and prompt processing
    slots: int  # sequences decoded together (continuous batching)
    context_per_slot: int  # tokens of prompt + answer one request may use
    adapters: tuple[Path, ...] = ()  # GGUF LoRA files, loaded at scale 0; requests set their own scales

    @property
    def batch_width(self) -> int:
        """Requests batch work (a day's TL;DRs) may run at once: one slot stays free, so a question
        asked meanwhile starts at once."""
        return max(1, self.slots - 1)


def cpu_runs_wheel() -> bool:
    """Whether this CPU can run the prebuilt x86-64 wheel, which is built for AVX2 (other
    architectures' wheels target their baseline)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return True
    flags = cpu_flags()
    # not Linux: no cheap way to ask, and every x86-64 CPU of the last decade has AVX2
    return flags is None or "avx2" in flags


def available() -> bool:
    """The wheel is installed and this CPU can run it."""
    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        return False
    return cpu_runs_wheel()


class LlamaServer:
    """One loaded GGUF model; every method is safe to call from many threads at once."""

    def __init__(self, config: EngineConfig):
        import xllamacpp as xlc

        self.config = config
        self._key = secrets.token_urlsafe(32)
        try:
            self._server = xlc.Server(_params(xlc, config, self._key))
        except Exception as error:  # llama.cpp says only "Failed to init server"; name what it was given
            raise EngineError(
                f"llama.cpp could not load {config.gguf} with adapters {[str(p) for p in config.adapters]} and "
                f"{config.slots} slots × {config.context_per_slot} tokens ({error}); run with -v for its log"
            ) from error
        address = self._server.listening_address
        if not address or not address.startswith("http://127.0.0.1:"):
            raise EngineError(f"llama.cpp listens on {address!r}, expected a loopback address")
        # The transport itself, not a Client: no proxy from the environment ever sees the key, and the
        # per-token-count requests stay out of httpx's request log.
        self._address = address
        self._http = httpx.HTTPTransport()

    @property
    def listening_address(self) -> str:
        return self._server.listening_address

    # --- tokens -------------------------------------------------------------------------------

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        body = {"content": text, "add_special": False, "parse_special": special}
        return self._post("/tokenize", body)["tokens"]

    def render_chat(self, messages: list[Message]) -> str:
        """The model's chat template applied, with the assistant turn opened."""
        return self._post("/apply-template", {"messages": messages})["prompt"]

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = httpx.Request("POST", self._address + path, json=body,
                                headers={"Authorization": f"Bearer {self._key}"}, extensions={"timeout": _TIMEOUT})
        response = self._http.handle_request(request)
        response.read()
        if response.status_code != 200:
            raise EngineError(f"llama.cpp {path}: HTTP {response.status_code}: {response.text[:200]}")
        return response.json()

    # --- generation ---------------------------------------------------------------------------

    def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        """One chat completion (OpenAI shape), blocking this thread only."""
        try:
            reply = self._server.handle_chat_completions(dict(request, stream=False))
        except Exception as error:  # C++ exceptions arrive as bare RuntimeError/ValueError
            raise EngineError(f"llama.cpp: {error}") from error
        return _checked(reply)

    def chat_many(self, requests: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Several completions sharing the slots (continuous batching), in order."""
        return self.map(self.chat, requests)

    def map(self, function, items: Sequence[Any]) -> list[Any]:
        """`function` over `items`, all but one slot's worth at a time, in order. Each call has its own
        threads, so a compare's requests queue in llama.cpp beside a TL;DR batch's, not behind all of it."""
        if len(items) <= 1:
            return [function(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(len(items), self.config.batch_width),
                                thread_name_prefix="paperbrief-llama") as pool:
            return list(pool.map(function, items))

    def chat_stream(self, request: dict[str, Any]) -> Iterator[str]:
        """Text pieces as they are decoded; closing the iterator stops the generation at the next token."""
        pieces: queue.Queue = queue.Queue()
        cancel = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            if isinstance(chunk, dict) and "error" in chunk:
                pieces.put(EngineError(str(chunk["error"])))
            else:
                for choice in (chunk.get("choices") or []) if isinstance(chunk, dict) else []:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        pieces.put(text)
            return cancel.is_set()  # True tells llama.cpp to stop this request

        def run() -> None:
            try:
                reply = self._server.handle_chat_completions(dict(request, stream=True), on_chunk)
                if isinstance(reply, dict) and "error" in reply:
                    pieces.put(EngineError(str(reply["error"])))
            except Exception as error:  # noqa: BLE001  # re-raised in the reader's thread
                pieces.put(EngineError(f"llama.cpp: {error}"))
            finally:
                pieces.put(_END)

        worker = threading.Thread(target=run, name="paperbrief-llama-stream", daemon=True)
        worker.start()
        try:
            while (piece := pieces.get()) is not _END:
                if isinstance(piece, Exception):
                    raise piece
                yield piece
        finally:
            # llama.cpp stops at its next chunk; not waiting for that keeps a closing reader (an HTTP
            # client that hung up mid-prefill) from blocking its thread
            cancel.set()


def _checked(reply: Any) -> dict[str, Any]:
    if not isinstance(reply, dict):
        raise EngineError(f"llama.cpp returned {type(reply).__name__}, expected a completion")
    if "error" in reply or not reply.get("choices"):
        raise EngineError(f"llama.cpp: {reply.get('error') or reply.get('message') or reply}")
    return reply


def _params(xlc, config: EngineConfig, key: str):
    params = xlc.CommonParams()
    params.model.path = str(config.gguf)
    params.n_parallel = config.slots
    params.n_ctx = config.slots * config.context_per_slot  # split evenly between the slots
    params.n_batch = params.n_ubatch = 512
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = config.threads
    params.cont_batching = True
    params.cache_prompt = True  # each slot keeps its last prompt: a shared prefix is prefilled once a slot
    params.cache_ram_mib = 0  # no extra host-memory prompt cache (8 GiB by default): RSS stays bounded
    params.ctx_shift = False  # an over-long request fails loudly; callers fit prompts first
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # a free port
    params.api_keys = [key]
    params.ui = False
    params.endpoint_slots = params.endpoint_metrics = False
    params.verbosity = -1 if not log.isEnabledFor(logging.DEBUG) else 1
    params.lora_adapters = [xlc.CommonAdapterLoraInfo(str(path), 0.0) for path in config.adapters]
    params.lora_init_without_apply = True
    return params


_SERVERS: dict[EngineConfig, LlamaServer] = {}
_SERVERS_LOCK = threading.Lock()


def shared_server(config: EngineConfig) -> LlamaServer:
    """One engine per process and configuration: a second caller waits for the first load."""
    with _SERVERS_LOCK:
        if config not in _SERVERS:
            _SERVERS[config] = LlamaServer(config)
        return _SERVERS[config]
