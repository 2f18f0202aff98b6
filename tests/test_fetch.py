"""HttpFetcher and the fetch_* helpers against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from index import fetch
from index.fetch import FetchError, HttpFetcher, OfflineError, fetch_arxiv, fetch_hf_daily, fetch_url, parse_retry_after
from index.sources import SourceError, arxiv

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
CONTENT_TYPES = {
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".xml": "application/atom+xml; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
SLOW_SECONDS = 0.6


def arxiv_page(start: int, size: int, with_total: bool) -> bytes:
    """A feed holding entries [start, start+size) of the query.xml fixture."""
    feed = (FIXTURES / "arxiv" / "query.xml").read_text()
    head, _, rest = feed.partition("  <entry>")
    entries = ["  <entry>" + chunk for chunk in rest.removesuffix("</feed>\n").split("  <entry>")]
    if not with_total:
        head = re.sub(r"\s*<opensearch:totalResults[^<]*</opensearch:totalResults>", "", head)
    return (head + "".join(entries[start : start + size]) + "</feed>\n").encode()


class FixtureServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping for /slow must not block shutdown

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.counts: Counter[str] = Counter()
        self.queries: list[dict[str, list[str]]] = []
        self.user_agents: list[str] = []
        self.arxiv_total = True
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: FixtureServer

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        with self.server.lock:
            self.server.counts[parts.path] += 1
            seen = self.server.counts[parts.path]
            self.server.queries.append(query)
            self.server.user_agents.append(self.headers.get("User-Agent", ""))
        try:
            self._route(parts.path, query, seen)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)

    def _route(self, path: str, query: dict[str, list[str]], seen: int) -> None:
        daily = FIXTURES / "hf_api" / "daily.json"
        if path.startswith("/files/"):
            file = FIXTURES / path.removeprefix("/files/")
            self._send(200, file.read_bytes(), CONTENT_TYPES[file.suffix])
        elif path == "/download":  # no extension: only the content type tells the format
            self._send(200, (FIXTURES / "arxiv" / "query.xml").read_bytes(), query["type"][0])
        elif path == "/hf":
            self._send(200, daily.read_bytes(), "application/json")
        elif path == "/arxiv":
            start, size = int(query["start"][0]), int(query["max_results"][0])
            body = arxiv_page(start, size, self.server.arxiv_total)
            self._send(200, body, "application/atom+xml")
        elif path == "/flaky-429" and seen == 1:
            self._send(429, b"slow down", "text/plain", {"Retry-After": "2"})
        elif path == "/huge-retry-after" and seen == 1:
            self._send(429, b"slow down", "text/plain", {"Retry-After": "3600"})
        elif path == "/flaky-503" and seen <= 2:
            self._send(503, b"busy", "text/plain")
        elif path in ("/flaky-429", "/huge-retry-after", "/flaky-503"):
            self._send(200, daily.read_bytes(), "application/json")
        elif path == "/papers":
            self._send(200, b"<!DOCTYPE html><html><body>Daily Papers</body></html>", "text/html")
        elif path == "/always-503":
            self._send(503, b"busy", "text/plain")
        elif path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._send(200, b"late", "text/plain")
        else:
            self._send(404, b"not here", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FixtureServer]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)  # every request must stay on 127.0.0.1
    httpd = FixtureServer()
    # A short poll interval makes shutdown() quick; the default waits up to half a second.
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def fetcher(sleeps: list[float]) -> Iterator[HttpFetcher]:
    with HttpFetcher(timeout=5.0, retries=3, backoff=0.5, sleep=sleeps.append) as client:
        yield client


# --- HttpFetcher -----------------------------------------------------------------------------


def test_get_returns_the_body_and_sends_the_user_agent(server: FixtureServer, fetcher) -> None:
    body = fetcher.get(f"{server.url}/files/jsonl/papers.jsonl")
    assert body == (FIXTURES / "jsonl" / "papers.jsonl").read_bytes()
    assert server.user_agents == ["paperbrief/0.1"]


def test_429_waits_for_retry_after_then_succeeds(server: FixtureServer, fetcher, sleeps) -> None:
    body = fetcher.get(f"{server.url}/flaky-429")
    assert body.startswith(b"[")
    assert server.counts["/flaky-429"] == 2
    assert sleeps == [2.0]


def test_retry_after_is_capped_at_a_minute(server: FixtureServer, fetcher, sleeps) -> None:
    fetcher.get(f"{server.url}/huge-retry-after")
    assert server.counts["/huge-retry-after"] == 2
    assert sleeps == [60.0]


def test_503_twice_backs_off_exponentially(server: FixtureServer, fetcher, sleeps) -> None:
    fetcher.get(f"{server.url}/flaky-503")
    assert server.counts["/flaky-503"] == 3
    assert sleeps == [0.5, 1.0]


def test_persistent_503_gives_up_after_the_retries(server: FixtureServer, fetcher, sleeps) -> None:
    url = f"{server.url}/always-503"
    with pytest.raises(FetchError, match="HTTP 503") as caught:
        fetcher.get(url)
    assert url in str(caught.value) and "4 attempts" in str(caught.value)
    assert not isinstance(caught.value, OfflineError)
    assert server.counts["/always-503"] == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_404_fails_at_once_naming_the_url(server: FixtureServer, fetcher, sleeps) -> None:
    url = f"{server.url}/missing"
    with pytest.raises(FetchError) as caught:
        fetcher.get(url, params={"date": "2024-01-02"})
    assert f"{url}?date=2024-01-02" in str(caught.value)
    assert "HTTP 404 Not Found" in str(caught.value)
    assert server.counts["/missing"] == 1
    assert sleeps == []


def test_slow_response_times_out_and_is_retried(server: FixtureServer, sleeps) -> None:
    impatient = HttpFetcher(timeout=0.15, retries=1, backoff=0.0, sleep=sleeps.append)
    with impatient, pytest.raises(FetchError, match="timed out after 0.15 s") as caught:
        impatient.get(f"{server.url}/slow")
    assert not isinstance(caught.value, OfflineError)
    assert server.counts["/slow"] == 2
    assert sleeps == [0.0]


def test_unreachable_port_is_offline_error(sleeps) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = HttpFetcher(timeout=2.0, retries=2, backoff=0.25, sleep=sleeps.append)
    with client, pytest.raises(OfflineError) as caught:
        client.get(f"http://127.0.0.1:{port}/api/daily_papers")
    message = str(caught.value)
    assert message.startswith("Could not reach 127.0.0.1: no network connection (")
    assert "Ingest a local file instead, e.g. `paperbrief ingest papers.jsonl`." in message
    assert f"127.0.0.1:{port}/api/daily_papers" in message and "3 attempts" in message
    assert sleeps == [0.25, 0.5]


def test_unsupported_scheme_fails_without_retrying(fetcher, sleeps) -> None:
    with pytest.raises(FetchError, match="ftp://127.0.0.1/papers.jsonl"):
        fetcher.get("ftp://127.0.0.1/papers.jsonl")
    assert sleeps == []


def test_response_size_limit(server: FixtureServer, fetcher, monkeypatch) -> None:
    monkeypatch.setattr(fetch, "MAX_FILE_BYTES", 100)
    with pytest.raises(FetchError, match="the limit is 100"):
        fetcher.get(f"{server.url}/files/jsonl/papers.jsonl")


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(later) <= 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


# --- fetch_* helpers -------------------------------------------------------------------------


def test_fetch_hf_daily(server: FixtureServer, fetcher) -> None:
    result = fetch_hf_daily(date(2023, 2, 28), fetcher, f"{server.url}/hf")
    assert server.queries == [{"date": ["2023-02-28"]}]
    assert [paper.id for paper in result.papers] == ["2302.13971", "2106.09685", "2312.00752", "2307.09288"]
    assert {paper.source for paper in result.papers} == {"hf-api"}


def test_fetch_hf_daily_404_is_a_fetch_error(server: FixtureServer, fetcher) -> None:
    with pytest.raises(FetchError, match=r"/nope\?date=2023-02-28 failed: HTTP 404"):
        fetch_hf_daily(date(2023, 2, 28), fetcher, f"{server.url}/nope")


def test_fetch_arxiv_pages_until_max_results(server: FixtureServer, fetcher, sleeps) -> None:
    result = fetch_arxiv("all:transformer", fetcher, f"{server.url}/arxiv", max_results=4, page_size=2)
    assert [paper.id for paper in result.papers] == ["1706.03762", "1810.04805", "hep-th/9711200", "2312.00752"]
    assert [(q["start"], q["max_results"]) for q in server.queries] == [(["0"], ["2"]), (["2"], ["2"])]
    first = server.queries[0]
    assert first["search_query"] == ["all:transformer"]
    assert first["sortBy"] == ["submittedDate"] and first["sortOrder"] == ["descending"]
    assert sleeps == [3.0]  # the pause arXiv asks for, between pages only


def test_fetch_arxiv_stops_at_total_results(server: FixtureServer, fetcher, sleeps) -> None:
    result = fetch_arxiv("all:transformer", fetcher, f"{server.url}/arxiv", max_results=50, page_size=3)
    assert len(result.papers) == 4
    assert [q["start"] for q in server.queries] == [["0"], ["3"]]


def test_fetch_arxiv_stops_on_an_empty_page(server: FixtureServer, fetcher, sleeps) -> None:
    server.arxiv_total = False
    result = fetch_arxiv("all:transformer", fetcher, f"{server.url}/arxiv", max_results=50, page_size=3)
    assert len(result.papers) == 4
    assert [q["start"] for q in server.queries] == [["0"], ["3"], ["4"]]
    assert sleeps == [3.0, 3.0]


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("/files/arxiv/query.xml", "arxiv"),
        ("/files/hf_api/daily.json", "hf-api"),
        ("/files/jsonl/papers.jsonl", "jsonl"),
        ("/files/csv/papers.csv", "csv"),
        ("/files/hf_page/quirks.txt", "hf-page"),
        ("/files/scitldr/sample.jsonl", "scitldr"),
        ("/download?type=application/atom%2Bxml", "arxiv"),
    ],
)
def test_fetch_url_detects_the_format(server: FixtureServer, fetcher, path: str, fmt: str) -> None:
    result = fetch_url(server.url + path, fetcher)
    assert result.papers and {paper.source for paper in result.papers} == {fmt}


def test_fetch_url_origin_is_the_url(server: FixtureServer, fetcher) -> None:
    url = f"{server.url}/files/jsonl/broken.jsonl"
    result = fetch_url(url, fetcher)
    assert {bad.path for bad in result.bad} == {url}


def test_fetch_url_of_an_html_page_is_a_source_error(server: FixtureServer, fetcher) -> None:
    with pytest.raises(SourceError, match="an HTML page; save the page as text"):
        fetch_url(f"{server.url}/papers", fetcher)


def test_cli_ingests_a_hf_day_an_arxiv_query_and_a_url(server: FixtureServer, tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from service.cli import main

    monkeypatch.setenv("PAPERBRIEF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PAPERBRIEF_HF_API_URL", f"{server.url}/hf")
    monkeypatch.setenv("PAPERBRIEF_ARXIV_API_URL", f"{server.url}/arxiv")
    runner = CliRunner()
    day = runner.invoke(main, ["ingest", "--hf-date", "2026-11-24", "--json"])
    assert day.exit_code == 0, day.output
    assert server.queries[-1]["date"] == ["2026-11-24"]
    assert json.loads(day.stdout)["new"] > 0
    query = runner.invoke(main, ["ingest", "--arxiv-query", "cat:cs.CL", "--max-results", "2"])
    assert query.exit_code == 0, query.output
    assert "2 papers (2 new)" in query.stdout
    url = runner.invoke(main, ["ingest", f"{server.url}/files/arxiv/query.xml"])
    assert url.exit_code == 0, url.output
    total = arxiv.count_entries((FIXTURES / "arxiv" / "query.xml").read_text())
    # Two came with the query (not stored twice); Mamba came from the HF day with another
    # abstract text, and the arXiv record (a known version) replaces it.
    assert f"{total} papers ({total - 3} new, 1 updated)" in url.stdout
    listed = json.loads(runner.invoke(main, ["papers", "--source", "arxiv", "--json"]).stdout)
    assert {paper["source"] for paper in listed} == {"arxiv"} and len(listed) >= 2
