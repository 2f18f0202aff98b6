"""The generator the settings name: the bundled models on the engine this machine runs best, any
Hugging Face model id/path on transformers, or an OpenAI-compatible server; one per configuration
per process. No torch import here: engines load only when a local model is wanted."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.engines import model_assets
from service.engines.openai_compat import OpenAIGenerator
from service.engines.protocol import Generator, GeneratorConfigError

if TYPE_CHECKING:
    from service.settings import Settings


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
