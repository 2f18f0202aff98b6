"""Library: ingest (upload, URL, Hugging Face day, arXiv query) with progress; papers, remove, statistics."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from index.sources import FORMATS
from service import web
from service.errors import UploadRejected
from service.web import UPLOAD_SUFFIXES, WebContext
from ui import render
from ui.common import PRIVATE, WRITE, browse, friendly, paper_choices


def build(ctx: WebContext, blocks: gr.Blocks, tab: gr.Tab) -> None:
    with gr.Row():
        with gr.Column():
            inputs, go, report = ingest_form(ctx)
        with gr.Column():
            stats = gr.JSON(label="Index statistics", elem_id="pb-stats")
            with gr.Row():
                doomed = gr.Dropdown(label="Remove papers", multiselect=True, scale=4)
                remove = gr.Button("Remove", variant="stop", scale=1)
            table = gr.HTML(elem_id="pb-library-papers")
    handlers = LibraryHandlers(ctx)
    view = [stats, table, doomed]
    go.click(handlers.ingest, inputs, report, api_name="ingest", **WRITE).then(
        handlers.refresh, None, view, **browse(ctx), **PRIVATE)
    remove.click(handlers.drop, doomed, doomed, **WRITE, **PRIVATE).then(
        handlers.refresh, None, view, **browse(ctx), **PRIVATE)
    for trigger in (blocks.load, tab.select):
        trigger(handlers.refresh, None, view, **browse(ctx), **PRIVATE)


def ingest_form(ctx: WebContext) -> tuple[list, gr.Button, gr.JSON]:
    """The ingest inputs (in the order LibraryHandlers.ingest takes them), its button and its report."""
    upload = gr.File(label=f"Upload a paper list (≤ {ctx.options.max_upload_bytes // 2**20} MB)",
                     file_types=list(UPLOAD_SUFFIXES), type="filepath", elem_id="pb-upload")
    url = gr.Textbox(label="…or a URL", placeholder="https://…/papers.jsonl")
    hf_date = gr.Textbox(label="…or a Hugging Face Daily Papers date", placeholder="2026-11-24 or today")
    with gr.Row():
        arxiv_query = gr.Textbox(label="…or an arXiv query", placeholder="cat:cs.CL", scale=3)
        max_results = gr.Number(100, label="max results", minimum=1, maximum=2000, precision=0, scale=1)
    with gr.Row():
        fmt = gr.Dropdown(["auto", *FORMATS], value="auto", label="Format")
        feed_date = gr.Textbox(label="Feed date", placeholder="default: today")
        skip_bad = gr.Checkbox(label="Skip bad records")
    go = gr.Button("Ingest", variant="primary", elem_id="pb-ingest")
    report = gr.JSON(label="Last ingest", elem_id="pb-ingest-report")
    return [upload, url, hf_date, arxiv_query, max_results, fmt, skip_bad, feed_date], go, report


class LibraryHandlers:
    def __init__(self, ctx: WebContext):
        self.ctx = ctx

    @friendly
    def ingest(self, file: str | None, url: str, hf_date: str, arxiv_query: str, max_results: float, fmt: str,
               skip_bad: bool, feed_date: str, progress=gr.Progress()):  # noqa: B008 — Gradio's idiom
        """Ingest an uploaded file, a URL, a Hugging Face day and/or an arXiv query; returns the report."""
        chosen = None if fmt == "auto" else fmt
        parsed = [read_upload(self.ctx, file, chosen)] if file else []
        url, hf_date, arxiv_query = ((text or "").strip() for text in (url, hf_date, arxiv_query))
        parsed += web.fetch_remote(self.ctx, url, hf_date, arxiv_query, int(max_results or 100), chosen)

        def tick(done: int, total: int) -> None:
            progress((done, total), desc="embedding chunks", unit="chunks")
        return web.ingest(self.ctx, parsed, bool(skip_bad), (feed_date or "").strip() or None, tick)

    def refresh(self):
        ctx = self.ctx
        return web.stats_json(ctx), render.papers_table(ctx.library.papers()), gr.update(choices=paper_choices(ctx))

    @friendly
    def drop(self, ids: list[str]):
        if not ids:
            raise ValueError("choose the papers to remove first")
        web.remove(self.ctx, ids)
        return gr.update(value=[])


def read_upload(ctx: WebContext, path: str, fmt: str | None):
    """An upload Gradio stored in the data directory: checked, parsed in memory, then deleted."""
    file = Path(path).resolve()
    if not file.is_relative_to(ctx.upload_dir.resolve()):
        raise UploadRejected("uploads are read only from the app's upload directory")
    try:
        web.check_upload(file.name, file.stat().st_size, ctx.options.max_upload_bytes)
        return web.parse_upload(ctx, file.name, file.read_bytes(), fmt)
    finally:
        file.unlink(missing_ok=True)
