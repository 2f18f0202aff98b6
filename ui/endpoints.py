"""Gradio's named endpoints for `gradio_client`: the same JSON as /api/v1, through Gradio's queue.

No `from __future__ import annotations` here: gr.api reads the type hints as real types.
"""

from collections.abc import Iterator

import gradio as gr

from service import web
from service.web import WebContext
from ui.common import WRITE, browse, model

QUEUE_NOTE = "Runs in the model's queue (as many at once as the engine has slots)."


def register(ctx: WebContext) -> None:
    _reading(ctx)
    _model(ctx)

    def remove(paper_ids: list[str]) -> dict:
        """Remove papers (and their chunks and vectors) by id."""
        return web.remove(ctx, paper_ids)

    gr.api(remove, api_name="remove", **WRITE)


def _reading(ctx: WebContext) -> None:
    def search(query: str, k: int = 10, date: str = "", sources: list[str] | None = None,
               mode: str = "hybrid") -> list[dict]:
        """Hybrid search: papers with their matching sentences."""
        return web.search_json(ctx, query, k, date, sources or [], mode)

    def papers(date: str = "", sources: list[str] | None = None) -> list[dict]:
        """Stored papers (oldest first), optionally of a date or range."""
        return web.papers_json(ctx, date, sources or [])

    def stats() -> dict:
        """Papers, chunks, sources, feed dates, store location."""
        return web.stats_json(ctx)

    for fn in (search, papers, stats):
        gr.api(fn, api_name=fn.__name__, **browse(ctx))


def _model(ctx: WebContext) -> None:
    def ask(question: str, date: str = "", sources: list[str] | None = None, passages: int = 3,
            conversation_id: str = "") -> Iterator[dict]:
        """A cited answer, streamed as events: sources, token…, answer (pass its conversation_id for follow-ups)."""
        conversation_id, conversation = ctx.conversation(conversation_id)
        for event in web.ask_events(ctx, question, conversation, date, sources or [], passages):
            yield {**event, "conversation_id": conversation_id} if event["type"] == "answer" else event

    def tldr(paper_ids: list[str] | None = None, date: str = "", style: str = "tldr", refresh: bool = False) -> list:
        """TL;DRs of papers by id, or of every paper of a date (default today). Cached."""
        papers = web.papers_for_tldr(ctx, paper_ids or [], date)
        return list(web.tldrs(ctx, papers, style, refresh))

    def compare(paper_ids: list[str] | None = None, query: str = "", k: int = 4, date: str = "",
                sources: list[str] | None = None) -> dict:
        """Compare 2–8 papers (by id, or the top k for a query): table, summary, Markdown and CSV."""
        return web.comparison_payload(web.compare(ctx, paper_ids or [], query or None, k, date, sources or []))

    def digest(date: str = "today", sources: list[str] | None = None, no_model: bool = False) -> dict:
        """The papers of a date grouped by topic, each with its TL;DR, and as Markdown."""
        return web.digest_json(web.digest(ctx, date, sources or [], no_model))

    ask.__annotations__["return"] = dict  # gradio derives the output schema from it; each event is a dict
    for fn in (ask, tldr, compare, digest):
        gr.api(fn, api_name=fn.__name__, api_description=(fn.__doc__ or "") + " " + QUEUE_NOTE, **model(ctx))
