"""What the web app and the HTTP API share: one library, the one model, and JSON-ready operations.

Thin on purpose: every operation calls the service functions the CLI calls (`Library.search`,
`ask_stream`, `summarise`, `find_papers`/`compare_papers`, `build_digest`, `collect`/`Library.ingest`)
and only shapes their results. Both the FastAPI routes (service.api) and Gradio's named endpoints
(ui.endpoints) call these functions, so the two APIs cannot drift apart.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path, PurePath

from index.models import Paper, ParseResult
from index.sources import parse_bytes
from service.ask import Answer, AskOptions, Conversation, Sources, Token, ask_stream
from service.compare import Comparison, compare_papers, find_papers
from service.dates import parse_day, parse_range
from service.digest import Digest, build_digest, digest_markdown, extractive_tldrs
from service.errors import Busy, UploadRejected
from service.ingest_sources import collect
from service.presentation import (
    comparison_csv,
    comparison_json,
    comparison_markdown,
    hit_json,
    paper_json,
    result_json,
)
from service.search import SearchFilter
from service.tldr import summarise

# What an upload may be called: the formats index.sources reads (the content decides the parser).
UPLOAD_SUFFIXES = (".txt", ".html", ".htm", ".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".xml", ".atom")
MAX_CONVERSATIONS = 256  # API chats kept in memory (oldest dropped)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 7860
    users: tuple[tuple[str, str], ...] = ()  # --auth user:pass (HTTP Basic, also Gradio's clients)
    token: str | None = None  # --token: "Authorization: Bearer …", or ?token=… once in a browser
    max_upload_bytes: int = 20 * 1024 * 1024
    queue_size: int = 16  # Gradio events waiting at most; more and users are told the queue is full
    api_model_waiting: int = 8  # HTTP API requests waiting for the model; more get 503
    browse_concurrency: int = 4  # search/list events run beside a generation
    auto_tldr: bool = True  # the Today tab writes missing TL;DRs when it opens

    @property
    def protected(self) -> bool:
        return bool(self.users or self.token)


class ModelTurns:
    """HTTP API requests that use the model: `max_running` run (the engine's slots: llama.cpp decodes
    them together), at most `max_waiting` wait, the rest are refused.

    Gradio events have their own bounded queue with the same number of model workers; both meet in
    the engine, which shares its slots between a TL;DR batch and API answers.
    """

    def __init__(self, max_waiting: int, max_running: int = 1):
        self.max_waiting = max_waiting
        self.max_running = max_running
        self._condition = threading.Condition()
        self._waiting = 0
        self._running = 0

    @property
    def waiting(self) -> int:
        return self._waiting

    @contextmanager
    def turn(self) -> Iterator[int]:
        """Wait for the model; yields how many requests were ahead on arrival."""
        with self._condition:
            ahead = max(0, self._waiting + self._running - self.max_running + 1)  # requests before it gets a slot
            if self._waiting >= self.max_waiting:
                raise Busy(f"the model is busy with {ahead} request(s); try again shortly")
            self._waiting += 1
            try:
                self._condition.wait_for(lambda: self._running < self.max_running)
            finally:
                self._waiting -= 1
            self._running += 1
        try:
            yield ahead
        finally:
            with self._condition:
                self._running -= 1
                self._condition.notify()


class WebContext:
    """The library, the process's generator and the locks one server shares between all its users."""

    def __init__(self, library, options: ServeOptions = ServeOptions(), generator=None):
        self.library = library
        self.options = options
        self._generator = generator  # tests pass a fake; otherwise the shared model, loaded on first use
        self.model_turns = ModelTurns(options.api_model_waiting, self.model_parallel)
        self.write_lock = threading.Lock()  # one ingest/remove at a time: the catalogue's writes are transactions
        self._conversations: OrderedDict[str, Conversation] = OrderedDict()
        self._conversations_lock = threading.Lock()

    @property
    def model_parallel(self) -> int:
        """Model requests served at once: the engine's slots where it decodes several together."""
        if self._generator is not None:
            return getattr(self._generator, "parallel", 1)
        from service.engines.bundled import parallel_requests
        from service.engines.model_assets import ModelAssetError

        try:
            return parallel_requests(self.library.settings)
        except ModelAssetError:  # the engine can't load: browsing still works, and model use says why
            return 1

    @property
    def generator(self):
        return self._generator if self._generator is not None else self.library.generator

    @property
    def home(self) -> Path:
        return self.library.settings.home

    @property
    def upload_dir(self) -> Path:
        """Where Gradio keeps uploads and served files (GRADIO_TEMP_DIR): inside the data directory."""
        return self.home / "web-files"

    @property
    def export_dir(self) -> Path:
        return self.home / "exports"

    def conversation(self, conversation_id: str | None) -> tuple[str, Conversation]:
        """An API chat by id (a new one when the id is empty or forgotten)."""
        with self._conversations_lock:
            if conversation_id and conversation_id in self._conversations:
                self._conversations.move_to_end(conversation_id)
                return conversation_id, self._conversations[conversation_id]
            new_id = secrets.token_urlsafe(12)
            self._conversations[new_id] = Conversation()
            while len(self._conversations) > MAX_CONVERSATIONS:
                self._conversations.popitem(last=False)
            return new_id, self._conversations[new_id]


# --- reading ------------------------------------------------------------------------------------


def days_of(when: str | None):
    """'' or None = every day; otherwise the CLI's date expressions (today, 2026-11-24, a..b, last-7-days)."""
    return parse_range(when) if when and when.strip() else None


def search_filter(when: str | None, sources: Sequence[str] = ()) -> SearchFilter:
    return SearchFilter(days_of(when), tuple(s for s in sources if s))


def list_papers(ctx: WebContext, when: str | None = None, sources: Sequence[str] = ()) -> list[Paper]:
    return ctx.library.papers(days_of(when), tuple(sources))


def papers_json(ctx: WebContext, when: str | None = None, sources: Sequence[str] = ()) -> list[dict]:
    return [paper_json(paper) for paper in list_papers(ctx, when, sources)]


def search_json(ctx: WebContext, query: str, k: int = 10, when: str | None = None, sources: Sequence[str] = (),
                mode: str = "hybrid") -> list[dict]:
    return [hit_json(hit) for hit in ctx.library.search(query, k, search_filter(when, sources), mode)]


def stats_json(ctx: WebContext) -> dict:
    return ctx.library.stats()


# --- the model's tasks ----------------------------------------------------------------------------


def ask_events(ctx: WebContext, question: str, conversation: Conversation, when: str | None = None,
               sources: Sequence[str] = (), passages: int = AskOptions.passages,
               mode: str = "hybrid", quote: str = AskOptions.quote) -> Iterator[dict]:
    """`ask_stream` as JSON events: sources, token…, answer (the checked result)."""
    options = AskOptions(passages=passages, mode=mode, quote=quote)
    for event in ask_stream(ctx.library, ctx.generator, question, search_filter(when, sources), conversation,
                            options):
        if isinstance(event, Sources):
            yield {"type": "sources", "query": event.retrieval.query,
                   "passages": [{"number": p.number, "paper_id": p.paper.id, "title": p.paper.title}
                                for p in event.retrieval.passages]}
        elif isinstance(event, Token):
            yield {"type": "token", "text": event.text}
        elif isinstance(event, Answer):
            yield {"type": "answer", **result_json(event.result)}


def tldrs(ctx: WebContext, papers: Sequence[Paper], style: str = "tldr", refresh: bool = False) -> Iterator[dict]:
    """`summarise` as JSON: cached TL;DRs first, then each batch as the model finishes it."""
    for summary in summarise(list(papers), ctx.generator, ctx.library.outputs, style=style, refresh=refresh):
        yield {"paper_id": summary.paper.id, "title": summary.paper.title, "style": style, "text": summary.text,
               "cached": summary.cached}


def papers_for_tldr(ctx: WebContext, paper_ids: Sequence[str], when: str | None) -> list[Paper]:
    if paper_ids:
        found = ctx.library.catalog.get_papers(list(paper_ids))
        missing = [pid for pid in paper_ids if pid not in found]
        if missing:
            raise ValueError(f"unknown paper id(s): {', '.join(missing)}")
        return [found[pid] for pid in paper_ids]
    return ctx.library.papers(parse_range(when or "today"))


def compare(ctx: WebContext, paper_ids: Sequence[str] = (), query: str | None = None, k: int = 4,
            when: str | None = None, sources: Sequence[str] = (), refresh: bool = False) -> Comparison:
    papers = find_papers(ctx.library, tuple(paper_ids), query or None, k, search_filter(when, sources))
    return compare_papers(papers, ctx.generator, ctx.library.outputs, refresh)


def comparison_payload(comparison: Comparison) -> dict:
    return {**comparison_json(comparison), "markdown": comparison_markdown(comparison), "csv": comparison_csv(comparison)}


def export_comparison(ctx: WebContext, comparison: Comparison) -> tuple[Path, Path]:
    """The table as CSV and Markdown files under the data directory (named by content: no duplicates)."""
    csv_text, markdown = comparison_csv(comparison), comparison_markdown(comparison)
    stem = "comparison-" + hashlib.sha256(markdown.encode()).hexdigest()[:12]
    ctx.export_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = ctx.export_dir / f"{stem}.csv", ctx.export_dir / f"{stem}.md"
    csv_path.write_text(csv_text, encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    return csv_path, md_path


def digest(ctx: WebContext, when: str = "today", sources: Sequence[str] = (), no_model: bool = False,
           refresh: bool = False, progress: Progress | None = None) -> Digest:
    """`build_digest` as the CLI runs it: TL;DRs from `summarise` (or the abstracts with `no_model`)."""
    generator = None if no_model else ctx.generator
    if no_model:
        summariser = extractive_tldrs
    else:
        def summariser(papers):
            found = summarise(papers, generator, ctx.library.outputs, refresh=refresh)
            return ((s.paper, s.text) for s in found)
    return build_digest(ctx.library, generator, parse_range(when or "today"), summariser, tuple(sources), progress)


def digest_json(result: Digest) -> dict:
    return {
        "days": [day.isoformat() for day in result.days],
        "paper_count": result.paper_count,
        "topics": [{"label": t.label, "label_origin": t.label_origin,
                    "papers": [{"id": e.paper.id, "title": e.paper.title, "url": e.paper.url, "tldr": e.tldr,
                                "tldr_origin": e.tldr_origin} for e in t.entries]} for t in result.topics],
        "markdown": digest_markdown(result),
    }


# --- writing --------------------------------------------------------------------------------------


def check_upload(name: str, size: int, limit: int) -> str:
    """The upload's base name, if its type and size are acceptable (the parser then checks the content)."""
    base = PurePath(name.replace("\\", "/")).name or "upload"
    if not base.lower().endswith(UPLOAD_SUFFIXES):
        raise UploadRejected(f"{base}: not a paper list; upload one of {', '.join(UPLOAD_SUFFIXES)}")
    if size > limit:
        raise UploadRejected(f"{base}: {size} bytes; uploads are limited to {limit} bytes")
    if size == 0:
        raise UploadRejected(f"{base}: the file is empty")
    return base


def parse_upload(ctx: WebContext, name: str, data: bytes, fmt: str | None = None) -> ParseResult:
    """Parsed in memory: an upload is never written anywhere by paperbrief."""
    base = check_upload(name, len(data), ctx.options.max_upload_bytes)
    return parse_bytes(data, base, fmt or None)


def fetch_remote(ctx: WebContext, url: str | None = None, hf_date: str | None = None,
                 arxiv_query: str | None = None, max_results: int = 100, fmt: str | None = None) -> list[ParseResult]:
    """A URL, a Hugging Face day or an arXiv query, read by `collect` as in `paperbrief ingest`."""
    if url and not url.startswith(("http://", "https://")):
        raise ValueError("only http(s) URLs can be ingested from the web app; upload local files instead")
    return collect(ctx.library.settings, [url] if url else [], fmt=fmt or None, hf_date=hf_date or None,
                   arxiv_query=arxiv_query or None, max_results=max_results)


def ingest(ctx: WebContext, parsed: Sequence[ParseResult], skip_bad: bool = False, feed_date: str | None = None,
           progress: Progress | None = None) -> dict:
    if not parsed:
        raise ValueError("nothing to ingest: give a file, a URL, a Hugging Face date or an arXiv query")
    with ctx.write_lock:
        outcome = ctx.library.ingest(parsed, skip_bad=skip_bad,
                                     feed_date=parse_day(feed_date) if feed_date else None, progress=progress)
    report = asdict(outcome.report)
    report["warnings"] = list(outcome.warnings)
    return {**report, "summary": outcome.report.summary(), "skipped": [str(r) for r in outcome.skipped]}


def remove(ctx: WebContext, paper_ids: Sequence[str]) -> dict:
    with ctx.write_lock:
        removed = ctx.library.remove(list(paper_ids))
    return {"removed": removed, "requested": len(paper_ids)}
