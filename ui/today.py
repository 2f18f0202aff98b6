"""Today: the day's papers with TL;DRs filled in as the model writes them, a digest, and search."""

from __future__ import annotations

import gradio as gr

from service import web
from service.dates import parse_range
from service.digest import digest_markdown
from service.web import WebContext
from ui import render
from ui.common import MODEL, PRIVATE, browse, date_choices, friendly, source_choices

WAITING = "TL;DR not written yet."
WRITING = "Writing TL;DR…"


def build(ctx: WebContext, blocks: gr.Blocks) -> None:
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

    @friendly
    def show(when: str, chosen: list[str]):
        found = web.list_papers(ctx, when, chosen)
        status = f"{len(found)} papers" + ("" if found else f" for {when or 'any date'} — ingest some in Library")
        return render.papers_html(found, {}, status, WRITING if ctx.options.auto_tldr else WAITING)

    @friendly
    def write_tldrs(when: str, chosen: list[str], tldr_style: str):
        found = web.list_papers(ctx, when, chosen)
        done: dict[str, str] = {}
        yield render.papers_html(found, done, f"{len(found)} papers · writing TL;DRs…", WRITING)
        for summary in web.tldrs(ctx, found, tldr_style):
            done[summary["paper_id"]] = summary["text"]
            status = f"{len(found)} papers · {len(done)} TL;DRs" + (" written" if len(done) == len(found) else "…")
            yield render.papers_html(found, done, status, WRITING)

    @friendly
    def find(text: str, when: str, chosen: list[str]):
        if not (text or "").strip():
            return ""
        hits = ctx.library.search(text, 10, web.search_filter(when, chosen))
        return render.search_html(text, hits)

    @friendly
    def make_digest(when: str, chosen: list[str], progress=gr.Progress()):  # noqa: B008 — Gradio's idiom
        def tick(done: int, total: int) -> None:
            progress((done, total), desc="TL;DRs", unit="papers")
        return digest_markdown(web.digest(ctx, when or "today", chosen, progress=tick))

    @friendly
    def opening():
        """The newest day with papers (today if it has any), the filters' choices, and that day's papers."""
        when = default_day(ctx)
        return (gr.update(choices=date_choices(ctx), value=when), gr.update(choices=source_choices(ctx)),
                show(when, []))

    listing, tldr_inputs = [day, sources], [day, sources, style]
    # `.input` (the user's changes) rather than `.change`: the page load sets the day itself.
    for event in (blocks.load(opening, None, [day, sources, papers], **browse(ctx), **PRIVATE),
                  day.input(show, listing, papers, **browse(ctx), **PRIVATE),
                  sources.input(show, listing, papers, **browse(ctx), **PRIVATE)):
        if ctx.options.auto_tldr:
            event.then(write_tldrs, tldr_inputs, papers, **MODEL, **PRIVATE)
    style.input(write_tldrs, tldr_inputs, papers, **MODEL, **PRIVATE)
    write.click(write_tldrs, tldr_inputs, papers, **MODEL, **PRIVATE)
    query.submit(find, [query, search_days, sources], results, **browse(ctx), **PRIVATE)
    digest_button.click(make_digest, listing, digest, **MODEL, **PRIVATE)


def default_day(ctx: WebContext) -> str:
    if ctx.library.papers(parse_range("today")):
        return "today"
    days = [day for day in ctx.library.stats().get("feed_dates", {}) if day]
    return days[0] if days else "today"  # stats lists feed dates newest first
