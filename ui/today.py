"""Today: the day's papers with TL;DRs filled in as the model writes them, a digest, and search."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from service import web
from service.dates import parse_range
from service.digest import digest_markdown
from service.web import WebContext
from ui import render
from ui.common import PRIVATE, browse, date_choices, friendly, model, source_choices

WAITING = "TL;DR not written yet."
WRITING = "Writing TL;DR…"


@dataclass(frozen=True)
class TodayView:
    day: gr.Dropdown
    sources: gr.Dropdown
    style: gr.Radio
    write: gr.Button
    papers: gr.HTML
    query: gr.Textbox
    search_days: gr.Textbox
    results: gr.HTML
    digest_button: gr.Button
    digest: gr.Markdown


def build(ctx: WebContext, blocks: gr.Blocks) -> None:
    view = layout(ctx)
    handlers = TodayHandlers(ctx)
    listing, tldr_inputs = [view.day, view.sources], [view.day, view.sources, view.style]
    # `.input` (the user's changes) rather than `.change`: the page load sets the day itself.
    for event in (blocks.load(handlers.opening, None, [view.day, view.sources, view.papers], **browse(ctx),
                              **PRIVATE),
                  view.day.input(handlers.show, listing, view.papers, **browse(ctx), **PRIVATE),
                  view.sources.input(handlers.show, listing, view.papers, **browse(ctx), **PRIVATE)):
        if ctx.options.auto_tldr:
            event.then(handlers.write_tldrs, tldr_inputs, view.papers, **model(ctx), **PRIVATE)
    view.style.input(handlers.write_tldrs, tldr_inputs, view.papers, **model(ctx), **PRIVATE)
    view.write.click(handlers.write_tldrs, tldr_inputs, view.papers, **model(ctx), **PRIVATE)
    view.query.submit(handlers.find, [view.query, view.search_days, view.sources], view.results, **browse(ctx),
                      **PRIVATE)
    view.digest_button.click(handlers.make_digest, listing, view.digest, **model(ctx), **PRIVATE)


def layout(ctx: WebContext) -> TodayView:
    with gr.Row():
        day = gr.Dropdown(label="Date", choices=date_choices(ctx), value=default_day(ctx), allow_custom_value=True,
                          info="a day, a range a..b, or last-7-days", elem_id="pb-day", scale=2)
        sources = gr.Dropdown(label="Sources", choices=source_choices(ctx), multiselect=True, scale=2,
                              info="empty = all")
        style = gr.Radio([("One line", "tldr"), ("Plain language", "plain")], value="tldr", label="TL;DR style",
                         scale=2)
        write = gr.Button("Write TL;DRs", scale=1)
    with gr.Row():
        with gr.Column(scale=3):
            papers = gr.HTML(elem_id="pb-today-papers")
        with gr.Column(scale=2):
            query = gr.Textbox(label="Search", placeholder="e.g. speeding up diffusion sampling", elem_id="pb-search")
            search_days = gr.Textbox(label="Search dates", placeholder="any date (or today, 2026-11-24, last-7-days)")
            results = gr.HTML(elem_id="pb-search-results")
            digest_button = gr.Button("Digest by topic")
            digest = gr.Markdown(elem_id="pb-digest")
    return TodayView(day, sources, style, write, papers, query, search_days, results, digest_button, digest)


class TodayHandlers:
    """The tab's event handlers: each calls one service function and renders its result."""

    def __init__(self, ctx: WebContext):
        self.ctx = ctx

    @friendly
    def opening(self):
        """The newest day with papers (today if it has any), the filters' choices, and that day's papers."""
        when = default_day(self.ctx)
        return (gr.update(choices=date_choices(self.ctx), value=when), gr.update(choices=source_choices(self.ctx)),
                self.show(when, []))

    @friendly
    def show(self, when: str, chosen: list[str]):
        return self._listing(web.list_papers(self.ctx, when, chosen), when)

    def _listing(self, found: list, when: str) -> str:
        status = f"{len(found)} papers" + ("" if found else f" for {when or 'any date'} — ingest some in Library")
        return render.papers_html(found, {}, status, WRITING if self.ctx.options.auto_tldr else WAITING)

    @friendly
    def write_tldrs(self, when: str, chosen: list[str], tldr_style: str):
        found = web.list_papers(self.ctx, when, chosen)
        if not found:  # nothing to write: keep the listing's status, not "writing TL;DRs…" for ever
            yield self._listing(found, when)
            return
        done: dict[str, str] = {}
        yield render.papers_html(found, done, f"{len(found)} papers · writing TL;DRs…", WRITING)
        for summary in web.tldrs(self.ctx, found, tldr_style):
            done[summary["paper_id"]] = summary["text"]
            status = f"{len(found)} papers · {len(done)} TL;DRs" + (" written" if len(done) == len(found) else "…")
            yield render.papers_html(found, done, status, WRITING)

    @friendly
    def find(self, text: str, when: str, chosen: list[str]):
        if not (text or "").strip():
            return ""
        return render.search_html(text, self.ctx.library.search(text, 10, web.search_filter(when, chosen)))

    @friendly
    def make_digest(self, when: str, chosen: list[str], progress=gr.Progress()):  # noqa: B008 — Gradio's idiom
        def tick(done: int, total: int) -> None:
            progress((done, total), desc="TL;DRs", unit="papers")
        return digest_markdown(web.digest(self.ctx, when or "today", chosen, progress=tick))


def default_day(ctx: WebContext) -> str:
    if ctx.library.papers(parse_range("today")):
        return "today"
    days = [day for day in ctx.library.stats().get("feed_dates", {}) if day]
    return days[0] if days else "today"  # stats lists feed dates newest first
