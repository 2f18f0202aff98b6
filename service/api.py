"""The JSON HTTP API (`/api/v1/…`, documented at /docs): thin routes over service.web.

Bodies are pydantic models that reject unknown fields; errors are JSON `{"detail": …}` with 400
(bad input), 404 (unknown paper), 413 (upload too big), 422 (malformed request) or 503 (model busy).
Model routes are plain `def`s: FastAPI runs them in its thread pool, so they never block the server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from service import web
from service.ask_records import QUOTE_MODES
from service.compare import MAX_PAPERS, MIN_PAPERS
from service.errors import Busy, http_statuses

Mode = Literal["hybrid", "dense", "bm25"]
Quote = Literal[QUOTE_MODES]  # subscripting with the tuple lists its values
DATE_HELP = "today, yesterday, 2026-11-24, 2026-11-01..2026-11-24 or last-7-days; empty = every day"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchBody(Body):
    query: str = Field(min_length=1, max_length=1000)
    k: int = Field(10, ge=1, le=100)
    date: str | None = Field(None, description=DATE_HELP)
    sources: list[str] = Field(default_factory=list, max_length=20)
    mode: Mode = "hybrid"


class AskBody(Body):
    question: str = Field(min_length=1, max_length=2000)
    date: str | None = Field(None, description=DATE_HELP)
    sources: list[str] = Field(default_factory=list, max_length=20)
    passages: int = Field(3, ge=1, le=8)
    mode: Mode = "hybrid"
    quote: Quote = Field("after", description="Fact answers: the model's answer then the answering sentence "
                                              "(after), the model's alone (none), the sentence alone (only).")
    conversation_id: str | None = Field(None, max_length=64,
                                        description="From an earlier answer: follow-up questions keep context.")


class TldrBody(Body):
    paper_ids: list[str] = Field(default_factory=list, max_length=200)
    date: str | None = Field(None, description="Without paper_ids: every paper of this date (default today).")
    style: Literal["tldr", "plain"] = "tldr"
    refresh: bool = False


class CompareBody(Body):
    paper_ids: list[str] = Field(default_factory=list, max_length=MAX_PAPERS)
    query: str | None = Field(None, max_length=1000, description="Instead of ids: the top k papers for a topic.")
    k: int = Field(4, ge=MIN_PAPERS, le=MAX_PAPERS)
    date: str | None = Field(None, description=DATE_HELP)
    sources: list[str] = Field(default_factory=list, max_length=20)
    refresh: bool = False


class DigestBody(Body):
    date: str = Field("today", description=DATE_HELP)
    sources: list[str] = Field(default_factory=list, max_length=20)
    no_model: bool = Field(False, description="First abstract sentences and title-word labels: no model.")
    refresh: bool = False


class IngestBody(Body):
    url: str | None = Field(None, max_length=2000, pattern=r"^https?://")
    hf_date: str | None = Field(None, description="A Hugging Face Daily Papers day (YYYY-MM-DD or today).")
    arxiv_query: str | None = Field(None, max_length=500)
    max_results: int = Field(100, ge=1, le=2000)
    format: str | None = Field(None, description="hf-page, hf-api, arxiv, jsonl, csv, scifact, scitldr")
    feed_date: str | None = None
    skip_bad: bool = False

    @model_validator(mode="after")
    def _something(self):
        if not (self.url or self.hf_date or self.arxiv_query):
            raise ValueError("give url, hf_date or arxiv_query")
        return self


class RemoveBody(Body):
    paper_ids: list[str] = Field(min_length=1, max_length=1000)


def build_router(ctx: web.WebContext) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["paperbrief"])
    _reading_routes(router, ctx)
    _ask_routes(router, ctx)
    _model_routes(router, ctx)
    _writing_routes(router, ctx)
    return router


def _reading_routes(router: APIRouter, ctx: web.WebContext) -> None:
    @router.get("/papers", summary="Stored papers, oldest first")
    def papers(date: Annotated[str | None, Query(description=DATE_HELP)] = None,
               source: Annotated[list[str] | None, Query(description="repeatable")] = None) -> list[dict]:
        return web.papers_json(ctx, date, source or [])

    @router.get("/papers/{paper_id}", summary="One paper")
    def paper(paper_id: str) -> dict:
        found = ctx.library.paper(paper_id)
        if found is None:
            raise HTTPException(404, f"unknown paper id: {paper_id}")
        return web.paper_json(found)

    @router.post("/search", summary="Hybrid search: papers with their matching sentences")
    def search(body: SearchBody) -> list[dict]:
        return web.search_json(ctx, body.query, body.k, body.date, body.sources, body.mode)

    @router.get("/stats", summary="Papers, chunks, sources, feed dates, store location")
    def stats() -> dict:
        return web.stats_json(ctx)


def _ask_routes(router: APIRouter, ctx: web.WebContext) -> None:
    @router.post("/ask", summary="A cited answer from the indexed papers (or an abstention)")
    def ask(body: AskBody) -> dict:
        conversation_id, conversation = ctx.conversation(body.conversation_id)
        with ctx.model_turns.turn():
            events = list(web.ask_events(ctx, body.question, conversation, body.date, body.sources, body.passages,
                                         body.mode, body.quote))
        return {**_final(events), "conversation_id": conversation_id}

    @router.post("/ask/stream", summary="The answer as NDJSON events: queued?, sources, token…, answer")
    def ask_stream(body: AskBody) -> StreamingResponse:
        conversation_id, conversation = ctx.conversation(body.conversation_id)
        if ctx.model_turns.waiting >= ctx.model_turns.max_waiting:  # refuse now, while a status code can say so
            raise Busy("the model is busy; try again shortly")

        def lines() -> Iterator[str]:
            with ctx.model_turns.turn() as ahead:
                if ahead:
                    yield _line({"type": "queued", "ahead": ahead})
                for event in web.ask_events(ctx, body.question, conversation, body.date, body.sources,
                                            body.passages, body.mode, body.quote):
                    if event["type"] == "answer":
                        event["conversation_id"] = conversation_id
                    yield _line(event)

        return StreamingResponse(_guarded(lines()), media_type="application/x-ndjson")


def _model_routes(router: APIRouter, ctx: web.WebContext) -> None:
    @router.post("/tldr", summary="TL;DRs of papers (by id, or of a date), cached")
    def tldr(body: TldrBody) -> list[dict]:
        papers = web.papers_for_tldr(ctx, body.paper_ids, body.date)
        with ctx.model_turns.turn():
            return list(web.tldrs(ctx, papers, body.style, body.refresh))

    @router.post("/compare", summary="Problem | method | data | key result table, similarities and differences")
    def compare(body: CompareBody) -> dict:
        with ctx.model_turns.turn():
            comparison = web.compare(ctx, body.paper_ids, body.query, body.k, body.date, body.sources, body.refresh)
        return web.comparison_payload(comparison)

    @router.post("/digest", summary="The papers of a date grouped by topic, each with its TL;DR")
    def digest(body: DigestBody) -> dict:
        with nullcontext() if body.no_model else ctx.model_turns.turn():
            return web.digest_json(web.digest(ctx, body.date, body.sources, body.no_model, body.refresh))


def _writing_routes(router: APIRouter, ctx: web.WebContext) -> None:
    @router.post("/ingest", summary="Ingest a URL, a Hugging Face day or an arXiv query")
    def ingest(body: IngestBody) -> dict:
        parsed = web.fetch_remote(ctx, body.url, body.hf_date, body.arxiv_query, body.max_results, body.format)
        return web.ingest(ctx, parsed, body.skip_bad, body.feed_date)

    @router.post("/ingest/file", summary="Ingest an uploaded file: the request body, at most the upload limit",
                 openapi_extra={"requestBody": {"content": {"application/octet-stream": {"schema": {
                     "type": "string", "format": "binary"}}}, "required": True}})
    async def ingest_file(request: Request, filename: str = Query(..., max_length=255),
                          format: str | None = Query(None), skip_bad: bool = False,
                          feed_date: str | None = None) -> dict:
        web.check_upload(filename, 1, ctx.options.max_upload_bytes)  # the name first: refuse before reading
        data = await _read_limited(request, ctx.options.max_upload_bytes)
        from starlette.concurrency import run_in_threadpool

        parsed = await run_in_threadpool(web.parse_upload, ctx, filename, data, format)
        return await run_in_threadpool(web.ingest, ctx, [parsed], skip_bad, feed_date)

    @router.post("/papers/remove", summary="Remove papers (and their chunks and vectors) by id")
    def remove(body: RemoveBody) -> dict:
        return web.remove(ctx, body.paper_ids)

    @router.delete("/papers/{paper_id}", summary="Remove one paper")
    def remove_one(paper_id: str) -> dict:
        result = web.remove(ctx, [paper_id])
        if not result["removed"]:
            raise HTTPException(404, f"unknown paper id: {paper_id}")
        return result


async def _read_limited(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes `limit` bytes (never spooled to a temporary file)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"uploads are limited to {limit} bytes")
    data = bytearray()
    async for piece in request.stream():
        data += piece
        if len(data) > limit:
            raise HTTPException(413, f"uploads are limited to {limit} bytes")
    return bytes(data)


def _final(events: list[dict]) -> dict:
    answer = next(event for event in events if event["type"] == "answer")
    return {key: value for key, value in answer.items() if key != "type"}


def _line(event: dict) -> str:
    return json.dumps(event, ensure_ascii=False) + "\n"


def _guarded(lines: Iterator[str]) -> Iterator[str]:
    """A failure after the response started can't change the status: it becomes a final error event."""
    try:
        yield from lines
    except (ValueError, Busy) as error:
        yield _line({"type": "error", "detail": str(error)})


def install_error_handlers(app: FastAPI) -> None:
    """Expected failures as JSON with a fitting status; anything else stays a 500."""
    def handler(status: int):
        async def respond(request: Request, error: Exception) -> JSONResponse:
            headers = {"Retry-After": "10"} if status == 503 else None
            return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)
        return respond

    for kind, status in http_statuses():
        app.add_exception_handler(kind, handler(status))
