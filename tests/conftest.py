"""Shared fixtures. Markers (`model`, `browser`) are registered in pyproject.toml."""

from __future__ import annotations

import os
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
    from index.sources import parse_file
    from service.library import Library
    from service.settings import Settings

    lib = Library(Settings(home=tmp_path_factory.mktemp("sample") / "home"), embedder=minilm)
    lib.ingest([parse_file(SAMPLE_PAGE)])
    yield lib
    lib.close()
