"""Turn what a user names (files, URLs, a Hugging Face day, an arXiv query) into ParseResults."""

from __future__ import annotations

from collections.abc import Sequence

from index.fetch import HttpFetcher, fetch_arxiv, fetch_hf_daily, fetch_url
from index.models import ParseResult
from index.sources import parse_file
from service.dates import parse_day
from service.settings import Settings


def fetcher_for(settings: Settings) -> HttpFetcher:
    return HttpFetcher(timeout=settings.http_timeout, retries=settings.http_retries, backoff=settings.http_backoff)


def collect(settings: Settings, sources: Sequence[str], *, fmt: str | None = None,
            hf_date: str | None = None, arxiv_query: str | None = None,
            max_results: int = 100) -> list[ParseResult]:
    """Parse everything first: nothing is stored until every input has been read."""
    if not sources and not hf_date and not arxiv_query:
        return []
    results: list[ParseResult] = []
    needs_network = hf_date or arxiv_query or any(s.startswith(("http://", "https://")) for s in sources)
    fetcher = fetcher_for(settings) if needs_network else None
    try:
        for source in sources:
            if source.startswith(("http://", "https://")):
                results.append(fetch_url(source, fetcher, fmt))
            else:
                results.append(parse_file(source, fmt))
        if hf_date:
            results.append(fetch_hf_daily(parse_day(hf_date), fetcher, settings.hf_api_url))
        if arxiv_query:
            results.append(fetch_arxiv(arxiv_query, fetcher, settings.arxiv_api_url, max_results=max_results))
    finally:
        if fetcher is not None:
            fetcher.close()
    return results
