"""Ask: a chat with streamed answers, numbered sources that expand to the cited sentences, follow-ups."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from service import web
from service.ask import Answer, AskOptions, AskResult, Conversation, Token, ask_stream
from service.web import WebContext
from ui import render
from ui.common import PRIVATE, browse, friendly, model


@dataclass(frozen=True)
class ChatState:
    """One browser session's chat: the service's Conversation (follow-ups) and the answers so far."""

    conversation: Conversation
    results: tuple[AskResult, ...] = ()


def build(ctx: WebContext) -> None:
    state = gr.State(None)
    chat = gr.HTML(render.chat_html([]), elem_id="pb-chat")
    with gr.Row():
        question = gr.Textbox(label="Question", placeholder="e.g. What does TracksTo4D take as input?", scale=6,
                              elem_id="pb-question", max_length=2000)
        send = gr.Button("Ask", variant="primary", scale=1, elem_id="pb-ask")
    with gr.Accordion("Filters", open=False), gr.Row():
        day = gr.Textbox(label="Dates", placeholder="any date (or today, 2026-11-24, last-7-days)")
        sources = gr.Textbox(label="Sources", placeholder="e.g. hf-page, arxiv (comma-separated; empty = all)")
        passages = gr.Slider(1, 8, value=AskOptions.passages, step=1, label="Passages the model reads")
        quote = gr.Radio([("The model's answer, then the papers' sentence", "after"),
                          ("The papers' sentence only (no generation, instant)", "only")],
                         value=AskOptions.quote, label="Fact answers", elem_id="pb-quote")
    new_chat = gr.Button("New conversation", size="sm")

    @friendly
    def answer(text: str, when: str, source_text: str, count: float, quoting: str, current: ChatState | None):
        current = current or ChatState(Conversation())
        text = " ".join((text or "").split())
        if not text:
            raise gr.Error("Type a question first.")
        chosen = [s.strip() for s in (source_text or "").split(",") if s.strip()]
        partial = ""
        yield render.chat_html(current.results, (text, partial)), current, ""
        events = ask_stream(ctx.library, ctx.generator, text, web.search_filter(when, chosen), current.conversation,
                            AskOptions(passages=int(count or AskOptions.passages), quote=quoting or AskOptions.quote))
        for event in events:
            if isinstance(event, Token):
                partial += event.text
                yield render.chat_html(current.results, (text, partial)), current, ""
            elif isinstance(event, Answer):
                current = ChatState(current.conversation, (*current.results, event.result))
        yield render.chat_html(current.results), current, ""

    inputs = [question, day, sources, passages, quote, state]
    for trigger in (send.click, question.submit):
        trigger(answer, inputs, [chat, state, question], **model(ctx), **PRIVATE)
    new_chat.click(lambda: (render.chat_html([]), None), None, [chat, state], **browse(ctx), **PRIVATE)
