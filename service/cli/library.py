"""The library commands: ingest, papers, search, stats, remove, reindex, and tldr."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from index.models import Paper
from service.cli import context
from service.dates import parse_day, parse_range
from service.presentation import hit_json, paper_json
from service.search import MODES, SearchFilter


@click.command()
@click.argument("sources", nargs=-1)
@click.option("--format", "fmt", help="Input format (default: detected): hf-page, hf-api, arxiv, jsonl, csv, scifact, scitldr.")
@click.option("--hf-date", help="Fetch the Hugging Face Daily Papers of this day (YYYY-MM-DD or 'today').")
@click.option("--arxiv-query", help="Fetch the newest arXiv papers for a query, e.g. 'cat:cs.CL'.")
@click.option("--max-results", default=100, show_default=True, help="With --arxiv-query: how many papers.")
@click.option("--feed-date", help="File the papers under this feed date (default: today; HF API items keep their own).")
@click.option("--skip-bad", is_flag=True, help="Ingest the good records of a file with bad ones, and list the bad.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def ingest(ctx, sources, fmt, hf_date, arxiv_query, max_results, feed_date, skip_bad, as_json) -> None:
    """Add papers from files, URLs, a Hugging Face day or an arXiv query (idempotent)."""
    from service.ingest_sources import collect

    library = context.library(ctx)
    parsed = collect(library.settings, sources, fmt=fmt, hf_date=hf_date, arxiv_query=arxiv_query,
                     max_results=max_results)
    for result in parsed:
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
    with context.progress_bar("embedding chunks") as progress:
        outcome = library.ingest(parsed, skip_bad=skip_bad, feed_date=parse_day(feed_date) if feed_date else None,
                                 progress=progress)
    for record in outcome.skipped:
        click.echo(f"skipped bad record: {record}", err=True)
    if as_json:
        click.echo(json.dumps({**asdict(outcome.report), "skipped": [str(r) for r in outcome.skipped]}, indent=2))
    else:
        click.echo(outcome.report.summary() + (f"; {len(outcome.skipped)} bad skipped" if outcome.skipped else ""))


@click.command()
@click.option("--date", "when", help="Feed date or range: today, yesterday, 2026-11-24, 2026-11-01..2026-11-24, last-7-days.")
@click.option("--source", "sources", multiple=True, help="Only papers from this source (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def papers(ctx, when, sources, as_json) -> None:
    """List stored papers (oldest first), optionally of a feed date or range."""
    found = context.library(ctx).papers(parse_range(when) if when else None, sources)
    if as_json:
        click.echo(json.dumps([paper_json(p) for p in found], indent=2))
        return
    for paper in found:
        click.echo(f"{paper.id:<24} {paper.title}")
    click.echo(f"{len(found)} papers", err=True)


@click.command()
@click.argument("query")
@click.option("-k", default=10, show_default=True, help="How many papers.")
@click.option("--date", "when", help="Only papers of this feed date or range.")
@click.option("--source", "sources", multiple=True, help="Only papers from this source (repeatable).")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def search(ctx, query, k, when, sources, mode, as_json) -> None:
    """Find the papers matching a query, with their matching sentences."""
    filters = SearchFilter(parse_range(when) if when else None, tuple(sources))
    hits = context.library(ctx).search(query, k, filters, mode)
    if as_json:
        click.echo(json.dumps([hit_json(hit) for hit in hits], indent=2))
        return
    if not hits:
        click.echo("No matching papers.")
    for rank, hit in enumerate(hits, start=1):
        ranks = f"dense #{hit.dense_rank or '-'}, bm25 #{hit.bm25_rank or '-'}"
        click.echo(click.style(f"{rank}. {hit.paper.title}", bold=True) + f"  [{hit.paper.id}]  {hit.score:.4f} ({ranks})")
        for sentence in hit.sentences:
            click.echo(f"   “{sentence.text}”")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stats(ctx, as_json) -> None:
    """Papers, chunks, sources, feed dates and where the store lives."""
    numbers = context.library(ctx).stats()
    if as_json:
        click.echo(json.dumps(numbers, indent=2))
        return
    for key, value in numbers.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
        click.echo(f"{key.replace('_', ' '):<26} {value}")


@click.command()
@click.argument("paper_ids", nargs=-1, required=True)
@click.pass_context
def remove(ctx, paper_ids) -> None:
    """Remove papers (and their chunks and vectors) by id."""
    removed = context.library(ctx).remove(paper_ids)
    click.echo(f"removed {removed} of {len(paper_ids)} papers")


@click.command()
@click.pass_context
def reindex(ctx) -> None:
    """Re-chunk and re-embed every paper (after changing the embedder or chunk size)."""
    with context.progress_bar("re-embedding") as progress:
        count = context.library(ctx).reindex(progress)
    click.echo(f"re-embedded {count} chunks")


@click.command()
@click.argument("paper_ids", nargs=-1)
@click.option("--date", "when", help="TL;DRs of every paper of this feed date or range (default: today, if no ids).")
@click.option("--style", type=click.Choice(["tldr", "plain"]), default="tldr", show_default=True,
              help="tldr: one sentence; plain: 2–3 sentences without jargon.")
@click.option("--refresh", is_flag=True, help="Regenerate instead of using cached TL;DRs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines as they finish.")
@click.pass_context
def tldr(ctx, paper_ids, when, style, refresh, as_json) -> None:
    """TL;DRs, streamed one per paper as they finish (cached: nothing is computed twice)."""
    from service.tldr import summarise

    library = context.library(ctx)
    papers = _papers_named(library, paper_ids) if paper_ids else library.papers(parse_range(when or "today"))
    if not papers:
        raise click.ClickException(f"no papers for {when or 'today'}; ingest some first (paperbrief ingest …)")
    for summary in summarise(papers, context.generator(ctx), context.output_cache(ctx), style=style, refresh=refresh):
        if as_json:
            click.echo(json.dumps({"paper_id": summary.paper.id, "title": summary.paper.title,
                                   "style": style, "text": summary.text, "cached": summary.cached}))
        elif style == "plain":
            click.echo(click.style(summary.paper.title, bold=True) + f"\n{summary.text}\n")
        else:
            click.echo(click.style(summary.paper.title, bold=True) + f" — {summary.text}")


def _papers_named(library, paper_ids) -> list[Paper]:
    found = library.catalog.get_papers(list(paper_ids))
    missing = [pid for pid in paper_ids if pid not in found]
    if missing:
        raise click.ClickException(f"unknown paper id(s): {', '.join(missing)} (see `paperbrief papers`)")
    return [found[pid] for pid in paper_ids]


COMMANDS = (ingest, papers, search, stats, remove, reindex, tldr)
