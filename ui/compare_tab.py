"""Compare: pick papers (or type a topic) → the traced table and its summary, as CSV and Markdown too."""

from __future__ import annotations

import gradio as gr

from service import web
from service.compare import MAX_PAPERS, MIN_PAPERS
from service.web import WebContext
from ui import render
from ui.common import PRIVATE, browse, friendly, model, paper_choices


def build(ctx: WebContext, tab: gr.Tab) -> None:
    with gr.Row():
        picked = gr.Dropdown(label=f"Papers ({MIN_PAPERS}–{MAX_PAPERS})", choices=paper_choices(ctx),
                             multiselect=True, max_choices=MAX_PAPERS, scale=3, elem_id="pb-compare-papers")
        with gr.Column(scale=2):
            topic = gr.Textbox(label="…or a topic", placeholder="e.g. efficient BERT pretraining",
                               elem_id="pb-compare-topic")
            count = gr.Slider(MIN_PAPERS, MAX_PAPERS, value=3, step=1, label="Papers for the topic",
                              elem_id="pb-compare-count")
    go = gr.Button("Compare", variant="primary", elem_id="pb-compare")
    table = gr.HTML(elem_id="pb-compare-table")
    downloads = gr.File(label="Download (CSV, Markdown)", file_count="multiple", interactive=False)

    @friendly
    def run(ids: list[str], query: str, k: float):
        query = (query or "").strip()
        if ids and query:
            raise ValueError("pick papers or type a topic, not both")
        comparison = web.compare(ctx, ids or (), query or None, int(k or 3))
        csv_path, markdown_path = web.export_comparison(ctx, comparison)
        return render.comparison_html(comparison), [str(csv_path), str(markdown_path)]

    go.click(run, [picked, topic, count], [table, downloads], **model(ctx), **PRIVATE)
    tab.select(lambda: gr.update(choices=paper_choices(ctx)), None, picked, **browse(ctx), **PRIVATE)
