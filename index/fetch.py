"""Fetching remote sources over HTTP: retries with backoff, size limits, a clear offline message."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Self

import httpx

from index.models import ParseResult
from index.sources import MAX_FILE_BYTES, arxiv, decode, parse_bytes
from index.sources.common import merge_results, with_warnings

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 60.0  # seconds; a server asking for longer gets retried after this
ARXIV_PAGE_DELAY = 3.0  # seconds between pages, as the arXiv API terms ask


class FetchError(RuntimeError):
    """A request failed; the message names the URL and the status or reason."""


class OfflineError(FetchError):
    """The host could not be reached at all (DNS or connection failure)."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content: bytes
    content_type: str


@dataclass(frozen=True)
class _Failure:
    """One failed attempt that is worth retrying."""

    kind: str  # "status", "timeout", "network" or "connect" (host unreachable)
    reason: str
    retry_after: float | None = None


class HttpFetcher:
    """GET with retries on 429, 5xx, timeouts and connection errors (exponential backoff)."""

    def __init__(
        self,
        timeout: float = 20.0,
        retries: int = 4,
        backoff: float = 1.0,
        user_agent: str = "paperbrief/0.1",
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep  # injectable so tests never wait
        self._client = httpx.Client(timeout=timeout, headers={"User-Agent": user_agent}, follow_redirects=True)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(self, url: str, params: dict | None = None) -> bytes:
        return self.fetch(url, params).content

    def fetch(self, url: str, params: dict | None = None) -> Fetched:
        """The response body and content type; FetchError / OfflineError when it cannot be had."""
        shown = display_url(url, params)
        attempts = self.retries + 1
        failure = _Failure("network", "no attempt made")
        for attempt in range(attempts):
            outcome = self._attempt(url, params, shown)
            if isinstance(outcome, Fetched):
                return outcome
            failure = outcome
            if attempt + 1 < attempts:
                delay = self._delay(attempt, failure)
                log.info("GET %s: %s; retry %d in %.1f s", shown, failure.reason, attempt + 1, delay)
                self.sleep(delay)
        raise _final_error(shown, failure, attempts)

    def _delay(self, attempt: int, failure: _Failure) -> float:
        if failure.retry_after is not None:
            return min(failure.retry_after, MAX_RETRY_AFTER)
        return min(self.backoff * 2**attempt, MAX_RETRY_AFTER)

    def _attempt(self, url: str, params: dict | None, shown: str) -> Fetched | _Failure:
        try:
            with self._client.stream("GET", url, params=params) as response:
                status = response.status_code
                if status == 429 or status >= 500:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    return _Failure("status", _status_text(response), retry_after)
                if status >= 400:
                    raise FetchError(f"GET {shown} failed: {_status_text(response)}")
                content = _read_limited(response, shown)
                return Fetched(str(response.url), content, response.headers.get("Content-Type", ""))
        except (httpx.UnsupportedProtocol, httpx.TooManyRedirects, httpx.InvalidURL) as error:
            raise FetchError(f"GET {shown} failed: {error}") from error
        except httpx.ConnectTimeout:
            return _Failure("connect", f"connecting timed out after {self.timeout:g} s")
        except httpx.TimeoutException:
            return _Failure("timeout", f"timed out after {self.timeout:g} s")
        except httpx.ConnectError as error:
            return _Failure("connect", str(error) or type(error).__name__)
        except httpx.TransportError as error:
            return _Failure("network", str(error) or type(error).__name__)


def display_url(url: str, params: dict | None = None) -> str:
    """The URL as requested, query included (for messages and as a parse origin)."""
    try:
        return str(httpx.URL(url).copy_merge_params(params)) if params else url
    except (httpx.InvalidURL, TypeError) as error:
        raise FetchError(f"{url}: not a valid URL ({error})") from error


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _status_text(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.reason_phrase}".rstrip()


def _read_limited(response: httpx.Response, shown: str) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_FILE_BYTES:
        raise FetchError(f"GET {shown}: the response is {declared} bytes; the limit is {MAX_FILE_BYTES}")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_FILE_BYTES:
            raise FetchError(f"GET {shown}: the response exceeds the {MAX_FILE_BYTES}-byte limit")
    return bytes(body)


def _final_error(shown: str, failure: _Failure, attempts: int) -> FetchError:
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if failure.kind == "connect":
        host = httpx.URL(shown).host
        return OfflineError(
            f"Could not reach {host}: no network connection (GET {shown}: {failure.reason}; {tries}). "
            "Ingest a local file instead, e.g. `paperbrief ingest papers.jsonl`."
        )
    return FetchError(f"GET {shown} failed: {failure.reason} ({tries})")


def fetch_hf_daily(day: date, fetcher: HttpFetcher, api_url: str) -> ParseResult:
    """One day of Hugging Face Daily Papers from the API (GET api_url?date=YYYY-MM-DD)."""
    params = {"date": day.isoformat()}
    origin = display_url(api_url, params)
    result = parse_bytes(fetcher.get(api_url, params=params), origin, "hf-api")
    if not result.papers and not result.bad:
        return with_warnings(result, [f"{origin}: no papers listed for {day.isoformat()}"])
    return result


def fetch_arxiv(
    query: str, fetcher: HttpFetcher, api_url: str, max_results: int = 100, page_size: int = 100
) -> ParseResult:
    """Newest-first arXiv search results, page by page, until max_results or an empty page."""
    if max_results < 0 or page_size < 1:
        raise ValueError("max_results must be >= 0 and page_size >= 1")
    pages: list[ParseResult] = []
    start = 0
    while start < max_results:
        if pages:
            fetcher.sleep(ARXIV_PAGE_DELAY)
        params = {
            "search_query": query,
            "start": start,
            "max_results": min(page_size, max_results - start),
            "sortBy": "submittedDate",
            "sortOrder": "descending",
        }
        origin = display_url(api_url, params)
        text, warnings = decode(fetcher.get(api_url, params=params), origin)
        pages.append(with_warnings(arxiv.parse(text, origin), warnings))
        entries = arxiv.count_entries(text)
        start += entries
        total = arxiv.total_results(text)
        if entries == 0 or (total is not None and start >= total):
            break
    return merge_results(pages)


def fetch_url(url: str, fetcher: HttpFetcher, fmt: str | None = None) -> ParseResult:
    """Any URL: the format comes from `fmt`, else the content type, else the extension and content."""
    fetched = fetcher.fetch(url)
    return parse_bytes(fetched.content, url, fmt or format_from_content_type(fetched.content_type))


def format_from_content_type(content_type: str) -> str | None:
    """Only the unambiguous types; JSON could be several formats, so content decides those."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in ("application/atom+xml", "application/xml", "text/xml"):
        return "arxiv"
    if media_type in ("text/csv", "text/tab-separated-values"):
        return "csv"
    return None
