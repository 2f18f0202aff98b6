"""Today: the day's papers with TL;DRs filled in as the model writes them, a digest, and search."""

from __future__ import annotations

import gradio as gr

from service import web
from service.digest import digest_markdown
from service.web import WebContext
from ui import render
from ui.common import MODEL, PRIVATE, browse, date_choices, friendly, source_choices

WAITING = "TL;DR not written yet."
WRITING = "Writing TL;DR…"


def build(ctx: WebContext, blocks: gr.Blocks) -> None:
    with gr.Row():
        day = gr.Dropdown(label="Date", choices=date_choices(ctx), value="today", allow_custom_value=True,
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

    listing = [day, sources]
    for trigger in (blocks.load, day.change, sources.change):
        event = trigger(show, listing, papers, **browse(ctx), **PRIVATE)
        if ctx.options.auto_tldr:
            event.then(write_tldrs, [day, sources, style], papers, **MODEL, **PRIVATE)
    style.change(write_tldrs, [day, sources, style], papers, **MODEL, **PRIVATE)
    write.click(write_tldrs, [day, sources, style], papers, **MODEL, **PRIVATE)
    query.submit(find, [query, search_days, sources], results, **browse(ctx), **PRIVATE)
    digest_button.click(make_digest, listing, digest, **MODEL, **PRIVATE)
    blocks.load(lambda: (gr.update(choices=date_choices(ctx)), gr.update(choices=source_choices(ctx))),
                None, [day, sources], **browse(ctx), **PRIVATE)
