"""Shared fixtures. Markers (`model`, `browser`) are registered in pyproject.toml."""

from __future__ import annotations

import gc
import os
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE_PAGE = REPO / "samples" / "hf-daily-papers-encoder.txt"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture(scope="session")
def minilm():
    """The real bundled embedder, loaded once per test session."""
    from index.embedding import LocalEmbedder

    return LocalEmbedder("minilm")


@pytest.fixture()
def settings(tmp_path):
    from service.settings import Settings

    return Settings(home=tmp_path / "home")


@pytest.fixture()
def library(settings, minilm):
    from service.library import Library

    lib = Library(settings, embedder=minilm)
    yield lib
    lib.close()


@pytest.fixture(scope="session")
def sample_library(tmp_path_factory, minilm):
    """The bundled sample page ingested once, shared read-only by search tests."""
    lib = ingested_sample(tmp_path_factory.mktemp("sample") / "home", minilm)
    yield lib
    lib.close()


def ingested_sample(home: Path, embedder):
    """A Library at `home` holding the bundled sample page."""
    from index.sources import parse_file
    from service.library import Library
    from service.settings import Settings

    library = Library(Settings(home=home), embedder=embedder)
    library.ingest([parse_file(SAMPLE_PAGE)])
    return library


LOCAL = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


@pytest.fixture(scope="module")
def local_only():
    """Clients in this module never route 127.0.0.1 through a proxy."""
    saved = {name: os.environ.get(name) for name in LOCAL}
    os.environ.update(LOCAL)
    yield
    for name, value in saved.items():
        os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


@pytest.fixture(scope="module")
def web_library(tmp_path_factory, minilm):
    """The sample page in a library of this module's own (web tests ingest and remove)."""
    library = ingested_sample(tmp_path_factory.mktemp("web") / "home", minilm)
    yield library
    library.close()


# --- shared by the model tiers of both engines ---------------------------------------------------------

QUESTION = [{"role": "user", "content": "In one sentence, what is a transformer in machine learning?"}]


def second_request_finishes(generator, seconds: float = 60) -> str:
    """A request made after a cancelled or abandoned stream, which must not wait for that stream."""
    answers: list[str] = []
    worker = threading.Thread(target=lambda: answers.append(generator.generate([QUESTION], max_new_tokens=4)[0]))
    worker.start()
    worker.join(seconds)
    assert answers, "a request after the cancelled one never ran"
    return answers[0]


def check_closing_a_stream_stops_it(generator) -> None:
    pieces = generator.stream(QUESTION, max_new_tokens=400)
    next(pieces), next(pieces)
    started = time.perf_counter()
    pieces.close()
    assert time.perf_counter() - started < 5, "closing waits for at most one decoding step, not 400 tokens"
    assert second_request_finishes(generator).strip()


def check_an_abandoned_stream_is_released(generator) -> None:
    pieces = generator.stream(QUESTION, max_new_tokens=400)
    next(pieces)
    del pieces
    gc.collect()
    assert second_request_finishes(generator).strip()


# --- shared by the engine tests (test_generation, test_model_assets) -----------------------------------


def settings_for(tmp_path: Path, **fields):
    """Settings at `tmp_path` that ignore any generator endpoint configured in the environment."""
    from service.settings import Settings

    base = {"home": tmp_path, "generator_base_url": None, "generator_api_key": None}
    return Settings(**{**base, **fields})


# --- shared by the compare tests (test_compare, test_compare_table) ----------------------------------


@pytest.fixture
def cache(tmp_path):
    """A fresh output cache (in place of pytest's own `cache` fixture, which no test here uses)."""
    from service.cache import OutputCache

    store = OutputCache(tmp_path / "outputs.sqlite")
    yield store
    store.close()


# --- one launched web app with a fake model, per module (test_api, test_api_uploads_and_queue) -------


@pytest.fixture(scope="module")
def model():
    from tests.web_support import FakeModel

    return FakeModel()


@pytest.fixture(scope="module")
def ctx(web_library, model):
    from service.web import ServeOptions, WebContext

    return WebContext(web_library, ServeOptions(auto_tldr=False, api_model_waiting=2, queue_size=6,
                                                max_upload_bytes=64 * 1024), generator=model)


@pytest.fixture(scope="module")
def url(ctx, local_only):
    from ui.server import create_app, serve_in_background

    running = serve_in_background(create_app(ctx))
    yield running.url
    running.stop()


@pytest.fixture(scope="module")
def api(url):
    import httpx

    with httpx.Client(base_url=url, timeout=60, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module")
def gradio(url):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)
