"""What the source-parser tests share: the fixture files under tests/fixtures/sources, the shared data."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
SHARED_DATA = Path(__file__).parents[2] / "shared" / "data"


def fixture(name: str) -> Path:
    return FIXTURES / name


def titles(result) -> list[str]:
    return [paper.title for paper in result.papers]
