"""The Gradio Blocks app: Today, Ask, Compare, Library — thin over service.web and the service layer.

Concurrency: Gradio's queue is bounded (`queue_size`); events that run the model share one slot
(concurrency_id "model"), browsing and search have their own wider group so they stay responsive
while the model writes, and ingest/remove run one at a time. Waiting users see their place in line.
"""

from __future__ import annotations

import gradio as gr

from service.web import WebContext
from ui import ask_tab, compare_tab, endpoints, library_tab, today

# System fonts only: Gradio's default theme would fetch Google Fonts, and the app must work offline.
THEME = gr.themes.Default(
    font=[gr.themes.Font("system-ui"), gr.themes.Font("Segoe UI"), "sans-serif"],
    font_mono=[gr.themes.Font("ui-monospace"), gr.themes.Font("Menlo"), "monospace"],
)

CSS = """
.pb-paper { border-bottom: 1px solid var(--border-color-primary); padding: .5em 0; }
.pb-paper h3 { margin: 0 0 .2em; font-size: 1.05em; }
.pb-meta { color: var(--body-text-color-subdued); font-size: .85em; }
.pb-tldr { margin: .3em 0; }
.pb-waiting { color: var(--body-text-color-subdued); font-style: italic; }
.pb-status { color: var(--body-text-color-subdued); }
.pb-turn { margin: .8em 0 1.2em; }
.pb-question { font-weight: 600; margin-bottom: .3em; }
.pb-question::before { content: "Q: "; }
.pb-answer { padding: .5em .8em; border-radius: 6px; background: var(--background-fill-secondary); }
.pb-lines { white-space: pre-line; }  /* one line per paper: compare and paper-by-paper answers */
.pb-abstained { border-left: 4px solid #d97706; background: #fffbeb; color: #78350f; }
.pb-streaming .pb-cursor { animation: pb-blink 1s steps(2) infinite; }
@keyframes pb-blink { 50% { opacity: 0; } }
.pb-answer a.pb-cite { font-weight: 600; text-decoration: none; padding: 0; margin: 0; }
.pb-sources { margin: .4em 0 0 .2em; padding: 0; list-style: none; }
.pb-source summary { cursor: pointer; }
.pb-source mark { background: #fde68a; color: inherit; }
.pb-abstract { font-size: .92em; }
.pb-notes, .pb-added, .pb-reason { color: var(--body-text-color-subdued); font-size: .85em; }
.pb-table { border-collapse: collapse; width: 100%; font-size: .92em; }
.pb-table th, .pb-table td { border: 1px solid var(--border-color-primary); padding: .35em .5em; vertical-align: top;
  text-align: left; }
.pb-table code { white-space: nowrap; }
.pb-cell-none { color: var(--body-text-color-subdued); }
.pb-results blockquote { margin: .2em 0 .5em 1em; font-size: .9em; color: var(--body-text-color-subdued); }
"""

INTRO = ("**paperbrief** — today's research papers, summarised, searchable and answerable with checked "
         "citations, on a local model. API: [/docs](/docs) (JSON) · the *Use via API* link below (gradio_client).")


def build_ui(ctx: WebContext) -> gr.Blocks:
    with gr.Blocks(title="paperbrief", analytics_enabled=False, delete_cache=(3600, 24 * 3600)) as blocks:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Today", id="today"):
                today.build(ctx, blocks)
            with gr.Tab("Ask", id="ask", elem_id="pb-tab-ask"):
                ask_tab.build(ctx)
            with gr.Tab("Compare", id="compare", elem_id="pb-tab-compare") as compare:
                compare_tab.build(ctx, compare)
            with gr.Tab("Library", id="library", elem_id="pb-tab-library") as library:
                library_tab.build(ctx, blocks, library)
        endpoints.register(ctx)
    blocks.queue(max_size=ctx.options.queue_size, default_concurrency_limit=1)
    return blocks
