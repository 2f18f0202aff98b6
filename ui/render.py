"""HTML for the web app. Every string from a paper, a user or the model goes through `esc`.

gr.HTML inserts markup as given (an `<img onerror>` in an abstract would run), so nothing here
interpolates text without escaping it, and only http(s) URLs become links.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

from index.models import Paper
from index.text import split_sentences
from service.ask import AskResult
from service.citations import Citation
from service.compare import FIELDS, HEADERS, Comparison
from service.search import SearchHit

PAPER_LISTS = ("list", "recommend", "overview")  # answer kinds shown as one line per paper
_MARKERS = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def safe_url(url: str) -> str:
    """The URL if it is http(s); never `javascript:` or `data:`."""
    return url if url.strip().lower().startswith(("https://", "http://")) else ""


def link(text: str, url: str) -> str:
    href = safe_url(url)
    if not href:
        return esc(text)
    return f'<a href="{esc(href)}" target="_blank" rel="noopener noreferrer">{esc(text)}</a>'


def highlighted(abstract: str, marked: Sequence[int]) -> str:
    """The abstract with the sentences at `marked` (split_sentences indices) in <mark>."""
    out, position = [], 0
    for index, (start, end) in enumerate(split_sentences(abstract)):
        out.append(esc(abstract[position:start]))
        sentence = esc(abstract[start:end])
        out.append(f"<mark>{sentence}</mark>" if index in marked else sentence)
        position = end
    out.append(esc(abstract[position:]))
    return "".join(out)


# --- papers and search ---------------------------------------------------------------------------


def paper_card(paper: Paper, tldr: str | None, waiting: str) -> str:
    authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
    days = ", ".join(day.isoformat() for day in paper.feed_dates)
    meta = " · ".join(esc(part) for part in (paper.id, authors, days) if part)
    summary = f'<p class="pb-tldr">{esc(tldr)}</p>' if tldr else f'<p class="pb-tldr pb-waiting">{esc(waiting)}</p>'
    return (f'<article class="pb-paper" data-paper-id="{esc(paper.id)}"><h3>{link(paper.title, paper.url)}</h3>'
            f'<div class="pb-meta">{meta}</div>{summary}'
            f"<details><summary>Abstract</summary><p>{esc(paper.abstract)}</p></details></article>")


def papers_html(papers: Sequence[Paper], tldrs: Mapping[str, str], status: str, waiting: str) -> str:
    if not papers:
        return f'<div class="pb-papers"><p class="pb-status">{esc(status)}</p></div>'
    cards = "".join(paper_card(paper, tldrs.get(paper.id), waiting) for paper in papers)
    return f'<div class="pb-papers"><p class="pb-status">{esc(status)}</p>{cards}</div>'


def search_html(query: str, hits: Sequence[SearchHit]) -> str:
    if not hits:
        return f'<div class="pb-results"><p class="pb-status">No paper matches “{esc(query)}”.</p></div>'
    items = []
    for hit in hits:
        quotes = "".join(f"<blockquote>{esc(s.text)}</blockquote>" for s in hit.sentences)
        items.append(f'<li class="pb-hit" data-paper-id="{esc(hit.paper.id)}">'
                     f'<strong>{link(hit.paper.title, hit.paper.url)}</strong>'
                     f' <span class="pb-meta">{esc(hit.paper.id)}</span>{quotes}</li>')
    return f'<ol class="pb-results">{"".join(items)}</ol>'


def papers_table(papers: Sequence[Paper]) -> str:
    rows = "".join(
        f"<tr><td><code>{esc(p.id)}</code></td><td>{link(p.title, p.url)}</td><td>{esc(p.source)}</td>"
        f"<td>{esc(', '.join(d.isoformat() for d in p.feed_dates))}</td></tr>"
        for p in papers
    )
    return (f'<p class="pb-status">{len(papers)} papers</p><table class="pb-table"><thead><tr><th>id</th>'
            f"<th>title</th><th>source</th><th>feed dates</th></tr></thead><tbody>{rows}</tbody></table>")


# --- chat --------------------------------------------------------------------------------------------


def answer_text(text: str, turn: int) -> str:
    """The escaped answer with each [n] marker linked to its numbered source."""
    def markers(match: re.Match) -> str:
        numbers = [n.strip() for n in match.group(1).split(",")]
        links = ",".join(f'<a class="pb-cite" href="#pb-t{turn}-s{n}">{n}</a>' for n in numbers)
        return f"[{links}]"
    return _MARKERS.sub(markers, esc(text))


def citation_html(citation: Citation, result: AskResult, turn: int) -> str:
    passage = next((p for p in result.retrieval.passages if p.number == citation.number), None)
    abstract = passage.paper.abstract if passage else " ".join(citation.sentences)
    marked = citation.sentence_indices if passage else range(len(citation.sentences))
    url = safe_url(citation.url)
    where = f'<p>{link(citation.url, url)}</p>' if url else ""
    added = ' <span class="pb-added">(source added by paperbrief: the model cited none here)</span>' * citation.added
    return (f'<li><details class="pb-source" id="pb-t{turn}-s{citation.number}"><summary>[{citation.number}] '
            f'{esc(citation.title)}{added}</summary>{where}<p class="pb-abstract">{highlighted(abstract, marked)}'
            f"</p></details></li>")


def turn_html(turn: int, question: str, result: AskResult | None, partial: str = "") -> str:
    kind = f' data-kind="{esc(result.kind)}"' if result is not None else ""
    head = f'<div class="pb-turn" data-turn="{turn}"{kind}><div class="pb-question">{esc(question)}</div>'
    if result is None:
        body = f'<div class="pb-answer pb-streaming pb-lines">{esc(partial)}<span class="pb-cursor">▍</span></div>'
        return head + body + "</div>"
    if result.abstained:
        body = (f'<div class="pb-answer pb-abstained"><strong>Not in the indexed papers.</strong> '
                f'{esc(result.text)} <span class="pb-reason">({esc(result.reason)})</span></div>')
        return head + body + "</div>"
    notes = "".join(f"<li>{esc(note)}</li>" for note in result.notes)
    notes = f'<ul class="pb-notes">{notes}</ul>' if notes else ""
    if result.kind in PAPER_LISTS and result.citations:
        return head + paper_list_html(result, turn) + notes + "</div>"
    sources = "".join(citation_html(c, result, turn) for c in result.citations)
    table = comparison_html(result.comparison) if result.comparison is not None else ""
    return (head + f'<div class="pb-answer pb-answered pb-lines">{answer_text(result.text, turn)}</div>{table}'
            f'<ol class="pb-sources">{sources}</ol>{notes}</div>')


def paper_list_html(result: AskResult, turn: int) -> str:
    """A list or recommend answer: its lead line, then one line per paper whose evidence sentence (and
    the abstract around it) opens on a click."""
    lead = result.text.splitlines()[0] if result.text else ""
    items = []
    for citation in result.citations:
        passage = next((p for p in result.retrieval.passages if p.number == citation.number), None)
        abstract = highlighted(passage.paper.abstract, citation.sentence_indices) if passage else ""
        evidence = esc(" ".join(citation.sentences))
        items.append(f'<li class="pb-listed" data-paper-id="{esc(citation.paper_id)}"><details '
                     f'id="pb-t{turn}-s{citation.number}"><summary>{link(citation.title, citation.url)}</summary>'
                     f'<blockquote>{evidence}</blockquote><p class="pb-abstract">{abstract}</p></details></li>')
    return (f'<div class="pb-answer pb-answered"><p class="pb-lead">{esc(lead)}</p>'
            f'<ol class="pb-paper-answers">{"".join(items)}</ol></div>')


def chat_html(results: Sequence[AskResult], pending: tuple[str, str] | None = None) -> str:
    turns = [turn_html(index, r.question, r) for index, r in enumerate(results, start=1)]
    if pending is not None:
        turns.append(turn_html(len(results) + 1, pending[0], None, pending[1]))
    if not turns:
        return ('<div class="pb-chat"><p class="pb-status">Ask about the indexed papers. Answers cite the '
                "sentences they rest on; follow-up questions keep the conversation.</p></div>")
    return f'<div class="pb-chat">{"".join(turns)}</div>'


# --- comparison ---------------------------------------------------------------------------------------


def comparison_html(comparison: Comparison) -> str:
    head = "".join(f"<th>{esc(HEADERS[f])}</th>" for f in FIELDS)
    rows = []
    for row in comparison.table.rows:
        spans = split_sentences(row.paper.abstract)
        cells = []
        for cell in row.cells:
            source = ""
            if cell.sentence_index is not None and cell.sentence_index < len(spans):
                start, end = spans[cell.sentence_index]
                source = f' title="{esc(row.paper.abstract[start:end])}"'
            mark = " †" if cell.origin == "extractive" else ""
            cells.append(f'<td class="pb-cell-{esc(cell.origin)}"{source}>{esc(cell.text)}{mark}</td>')
        rows.append(f'<tr><th scope="row">[{esc(row.letter)}] {link(row.name, row.paper.url)}</th>{"".join(cells)}</tr>')
    papers = "".join(f"<li>[{esc(r.letter)}] {link(r.paper.title, r.paper.url)} <code>{esc(r.paper.id)}</code></li>"
                     for r in comparison.table.rows)
    return (f'<table class="pb-table pb-compare"><thead><tr><th>Paper</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>'
            f'<p class="pb-summary"><strong>Similarities and differences.</strong> {esc(comparison.summary)}</p>'
            f'<ul class="pb-paper-list">{papers}</ul><p class="pb-meta">Hover a cell for the abstract sentence behind '
            "it; † = quoted from the abstract because the model's phrase lacked support.</p>")
