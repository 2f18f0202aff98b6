"""`paperbrief compare` and `paperbrief digest`: papers side by side, and a day's papers by topic."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from service.cli import context
from service.compare import MAX_PAPERS, MIN_PAPERS, compare_papers, find_papers
from service.digest import Summariser, build_digest, describe_days, digest_markdown, extractive_tldrs
from service.presentation import COMPARISON_FORMATS, comparison_csv, comparison_json, comparison_markdown
from service.search import SearchFilter


@click.command()
@click.argument("paper_ids", nargs=-1)
@click.option("--query", help="Compare the top papers for this query instead of given ids.")
@click.option("-k", default=4, show_default=True, help=f"With --query: how many papers ({MIN_PAPERS}–{MAX_PAPERS}).")
@click.option("--date", "when", help="With --query: only papers of this feed date or range.")
@click.option("--source", "sources", multiple=True, help="With --query: only papers from this source (repeatable).")
@click.option("--format", "fmt", type=click.Choice(COMPARISON_FORMATS), default="markdown", show_default=True)
@click.option("--refresh", is_flag=True, help="Recompute cached extractions and summary.")
@click.pass_context
def compare(ctx, paper_ids, query, k, when, sources, fmt, refresh) -> None:
    """Compare 2–8 papers: problem | method | data | key result, then similarities and differences."""
    if not MIN_PAPERS <= k <= MAX_PAPERS:
        raise click.BadParameter(f"must be {MIN_PAPERS}–{MAX_PAPERS}", param_hint="-k")
    if paper_ids and (when or sources):
        raise click.UsageError("--date and --source select papers for --query; drop them when giving ids")
    library = context.library(ctx)
    try:
        papers = find_papers(library, paper_ids, query, k, SearchFilter(context.days(when), tuple(sources)))
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    comparison = compare_papers(papers, context.generator(ctx), context.output_cache(ctx), refresh)
    if fmt == "json":
        click.echo(json.dumps(comparison_json(comparison), indent=2, ensure_ascii=False))
    else:
        click.echo(comparison_csv(comparison) if fmt == "csv" else comparison_markdown(comparison), nl=False)


@click.command()
@click.option("--date", "when", default="today", show_default=True,
              help="Feed date or range: today, yesterday, 2026-11-24, 2026-11-01..2026-11-24, last-7-days.")
@click.option("--source", "sources", multiple=True, help="Only papers from this source (repeatable).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the Markdown here.")
@click.option("--no-model", is_flag=True, help="No language model: first abstract sentences, title-word labels.")
@click.option("--refresh", is_flag=True, help="Recompute cached TL;DRs.")
@click.pass_context
def digest(ctx, when, sources, out, no_model, refresh) -> None:
    """The papers of a day (or range) grouped by topic, each with its TL;DR, as Markdown for an email."""
    library = context.library(ctx)
    days = context.days(when)
    generator = None if no_model else context.generator(ctx)
    summarise = extractive_tldrs if no_model else _tldr_summariser(ctx, library, generator, refresh)
    result = build_digest(library, generator, days, summarise, tuple(sources), progress=_progress)
    text = digest_markdown(result)
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    click.echo(f"{result.paper_count} papers in {len(result.topics)} topics for {describe_days(days)} -> {out}",
               err=True)


def _tldr_summariser(ctx: click.Context, library, generator, refresh: bool) -> Summariser:
    from service.tldr import summarise

    cache = context.output_cache(ctx)
    return lambda papers: ((s.paper, s.text) for s in summarise(papers, generator, cache, refresh=refresh))


def _progress(done: int, total: int) -> None:
    if total and sys.stderr.isatty():
        click.echo(f"\rTL;DRs {done}/{total}", err=True, nl=done == total)


COMMANDS = (compare, digest)
