"""Helpers the tabs share: friendly errors, concurrency groups, choices built from the library."""

from __future__ import annotations

import functools
import inspect
from html import escape

import gradio as gr

from service.errors import expected_errors
from service.web import WebContext

WRITE = {"concurrency_id": "write", "concurrency_limit": 1}
PRIVATE = {"api_visibility": "private"}  # UI plumbing: gradio_client uses the named endpoints instead


def model(ctx: WebContext) -> dict:
    """Events that run the language model share the engine's slots; browsing runs beside them (see ui.app)."""
    return {"concurrency_id": "model", "concurrency_limit": ctx.model_turns.max_running}


def browse(ctx: WebContext) -> dict:
    return {"concurrency_id": "browse", "concurrency_limit": ctx.options.browse_concurrency}


def friendly(fn):
    """Expected failures become a Gradio error box (escaped: Gradio renders its message as HTML)."""
    def shown(error: Exception) -> gr.Error:
        return gr.Error(escape(str(error)), print_exception=False)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except expected_errors() as error:
                raise shown(error) from error
        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except expected_errors() as error:
            raise shown(error) from error
    return call


def date_choices(ctx: WebContext) -> list[str]:
    """'today', then the feed dates that have papers (newest first)."""
    days = list(ctx.library.stats().get("feed_dates", {}))
    return ["today", *[day for day in days if day]] + ["last-7-days"]


def source_choices(ctx: WebContext) -> list[str]:
    return sorted(ctx.library.stats().get("sources", {}))


def paper_choices(ctx: WebContext) -> list[tuple[str, str]]:
    """(label, id) for pickers: newest papers first."""
    papers = ctx.library.papers()
    return [(f"{_short(p.title)} · {p.id}", p.id) for p in reversed(papers)]


def _short(title: str, limit: int = 90) -> str:
    title = " ".join(title.split())
    return title if len(title) <= limit else title[: limit - 1] + "…"
