"""`paperbrief ask` and `paperbrief chat`: streamed answers from the indexed papers with checked citations."""

from __future__ import annotations

import json

import click

from service.ask import Answer, AskOptions, AskResult, Conversation, Token, ask_stream
from service.ask_records import QUOTE_MODES
from service.cli import context
from service.presentation import result_json
from service.search import MODES, SearchFilter

_DATE_HELP = "Only papers of this feed date or range: today, yesterday, 2026-11-24, 2026-11-01..2026-11-24, last-7-days."


def _answer(ctx: click.Context, question: str, filters: SearchFilter, options: AskOptions,
            conversation: Conversation, stream: bool) -> AskResult:
    """Run one question, echoing the model's words as they come when `stream`, then the checked answer."""
    library = context.library(ctx)
    generator = context.generator(ctx)
    streamed: list[str] = []
    result = None
    for event in ask_stream(library, generator, question, filters, conversation, options):
        if isinstance(event, Token) and stream:
            streamed.append(event.text)
            click.echo(event.text, nl=False)
        elif isinstance(event, Answer):
            result = event.result
    if stream:
        _print_result(result, "".join(streamed))
    return result


def _print_result(result: AskResult, streamed: str) -> None:
    if streamed:
        click.echo()
    if result.text != streamed.strip():  # markers fixed, quotes unverified or abstained: show what stands
        label = click.style("Checked answer: ", bold=True) if streamed else ""
        click.echo(label + result.text)
    for citation in result.citations:
        quote = " … ".join(citation.sentences)
        added = click.style("  (added by paperbrief: the model cited no source here)", dim=True) if citation.added else ""
        click.echo(f"[{citation.number}] {citation.title} — “{quote}”{added}")
    for note in result.notes:
        click.echo(click.style(f"  note: {note}", dim=True), err=True)


def _common(command):
    options = [
        click.option("--date", "when", help=_DATE_HELP),
        click.option("--source", "sources", multiple=True, help="Only papers from this source (repeatable)."),
        click.option("--passages", default=AskOptions.passages, show_default=True, type=click.IntRange(1, 8),
                     help="Passages the model reads (the small default model does best with 3–5)."),
        click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True,
                     help="Retrieval mode."),
        click.option("--quote", type=click.Choice(QUOTE_MODES), default=AskOptions.quote, show_default=True,
                     help="Fact answers: the model's answer with the answering sentence quoted after it (after), "
                          "the model's answer alone (none), or the sentence alone with no generation (only)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command()
@click.argument("question")
@_common
@click.option("--json", "as_json", is_flag=True, help="Print the answer, citations and abstained flag as JSON.")
@click.pass_context
def ask(ctx: click.Context, question: str, when: str | None, sources: tuple[str, ...], passages: int,
        mode: str, quote: str, as_json: bool) -> None:
    """Answer QUESTION from the indexed papers, citing the sentences it rests on (or say they don't)."""
    options = AskOptions(passages=passages, mode=mode, quote=quote)
    result = _answer(ctx, question, context.search_filter(when, sources), options, Conversation(), stream=not as_json)
    if as_json:
        click.echo(json.dumps(result_json(result), indent=2, ensure_ascii=False))


@click.command()
@_common
@click.pass_context
def chat(ctx: click.Context, when: str | None, sources: tuple[str, ...], passages: int, mode: str,
         quote: str) -> None:
    """Ask question after question; follow-ups ("does it…?") keep the conversation. A blank line ends."""
    filters, conversation = context.search_filter(when, sources), Conversation()
    options = AskOptions(passages=passages, mode=mode, quote=quote)
    while True:
        try:
            question = click.prompt("question", default="", show_default=False, prompt_suffix="> ")
        except (EOFError, click.Abort):
            break
        if not question.strip():
            break
        _answer(ctx, question, filters, options, conversation, stream=True)
        click.echo()


COMMANDS = (ask, chat)
