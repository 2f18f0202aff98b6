"""`paperbrief compare` and `paperbrief digest`: standalone click commands, registered on the main group.

The model and the output cache are the library's; tests can put their own "library", "generator" or
"output_cache" into ctx.obj.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import click

from index.text import split_sentences
from service.compare import (
    FIELDS,
    HEADERS,
    MAX_PAPERS,
    MIN_PAPERS,
    Cell,
    Comparison,
    Row,
    compare_papers,
    find_papers,
)
from service.dates import parse_range
from service.digest import Summariser, build_digest, describe_days, digest_markdown, extractive_tldrs
from service.search import SearchFilter

FORMATS = ("markdown", "json", "csv")
LEGEND = "(sN) = the abstract sentence behind a cell; † = quoted from the abstract, the model's phrase lacked support."


def _library(ctx: click.Context):
    # Imported here: service.cli imports this module to register the commands.
    from service.cli import _library as library_of

    return library_of(ctx)


def _generator(ctx: click.Context, library):
    return ctx.obj.get("generator") or library.generator


def _output_cache(ctx: click.Context, library):
    return ctx.obj.get("output_cache") or library.outputs


def _days(when: str | None):
    try:
        return parse_range(when) if when else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--date") from None


@click.command()
@click.argument("paper_ids", nargs=-1)
@click.option("--query", help="Compare the top papers for this query instead of given ids.")
@click.option("-k", default=4, show_default=True, help=f"With --query: how many papers ({MIN_PAPERS}–{MAX_PAPERS}).")
@click.option("--date", "when", help="With --query: only papers of this feed date or range.")
@click.option("--source", "sources", multiple=True, help="With --query: only papers from this source (repeatable).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="markdown", show_default=True)
@click.option("--refresh", is_flag=True, help="Recompute cached extractions and summary.")
@click.pass_context
def compare(ctx, paper_ids, query, k, when, sources, fmt, refresh) -> None:
    """Compare 2–8 papers: problem | method | data | key result, then similarities and differences."""
    if not MIN_PAPERS <= k <= MAX_PAPERS:
        raise click.BadParameter(f"must be {MIN_PAPERS}–{MAX_PAPERS}", param_hint="-k")
    if paper_ids and (when or sources):
        raise click.UsageError("--date and --source select papers for --query; drop them when giving ids")
    library = _library(ctx)
    try:
        papers = find_papers(library, paper_ids, query, k, SearchFilter(_days(when), tuple(sources)))
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    comparison = compare_papers(papers, _generator(ctx, library), _output_cache(ctx, library), refresh)
    if fmt == "json":
        click.echo(json.dumps(to_json(comparison), indent=2, ensure_ascii=False))
    else:
        click.echo(to_csv(comparison) if fmt == "csv" else to_markdown(comparison), nl=False)


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
    library = _library(ctx)
    days = _days(when)
    generator = None if no_model else _generator(ctx, library)
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

    cache = _output_cache(ctx, library)
    return lambda papers: ((s.paper, s.text) for s in summarise(papers, generator, cache, refresh=refresh))


def _progress(done: int, total: int) -> None:
    if total and sys.stderr.isatty():
        click.echo(f"\rTL;DRs {done}/{total}", err=True, nl=done == total)


# --- table renderings: JSON (cells with their sentence and its span), CSV, Markdown ---


def to_json(comparison: Comparison) -> dict:
    return {
        "fields": list(FIELDS),
        "papers": [_row_json(row) for row in comparison.table.rows],
        "summary": comparison.summary,
        "summary_origin": comparison.summary_origin,
    }


def _row_json(row: Row) -> dict:
    spans = split_sentences(row.paper.abstract)
    cells = {}
    for field, cell in zip(FIELDS, row.cells):
        start, end = spans[cell.sentence_index] if cell.sentence_index is not None else (None, None)
        cells[field] = {"text": cell.text, "sentence_index": cell.sentence_index, "supported": cell.supported,
                        "origin": cell.origin, "char_start": start, "char_end": end,
                        "sentence": row.paper.abstract[start:end] if start is not None else None}
    return {"letter": row.letter, "name": row.name, "id": row.paper.id, "title": row.paper.title,
            "url": row.paper.url, "cells": cells}


def to_csv(comparison: Comparison) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["letter", "id", "title"] + [f"{f}{suffix}" for f in FIELDS for suffix in ("", "_sentence", "_origin")])
    for row in comparison.table.rows:
        cells = [v for c in row.cells for v in (c.text, "" if c.sentence_index is None else c.sentence_index, c.origin)]
        writer.writerow([row.letter, row.paper.id, row.paper.title, *cells])
    return out.getvalue()


def to_markdown(comparison: Comparison) -> str:
    header = "| Paper | " + " | ".join(HEADERS[f] for f in FIELDS) + " |"
    lines = [header, "|" + " --- |" * (len(FIELDS) + 1)]
    for row in comparison.table.rows:
        lines.append(f"| [{row.letter}] {_md_cell(row.name)} | " + " | ".join(_md_text(c) for c in row.cells) + " |")
    lines += ["", f"**Similarities and differences.** {comparison.summary}", "", "Papers:"]
    lines += [f"- [{row.letter}] {_md_cell(row.paper.title)} ({row.paper.id})" for row in comparison.table.rows]
    lines += ["", LEGEND]
    return "\n".join(lines) + "\n"


def _md_text(cell: Cell) -> str:
    if cell.sentence_index is None:
        return _md_cell(cell.text)
    return f"{_md_cell(cell.text)}{' †' if cell.origin == 'extractive' else ''} (s{cell.sentence_index + 1})"


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
