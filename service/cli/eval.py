"""`paperbrief eval …`: quality on public benchmarks, one command each, resumable, with reports.

Every subcommand takes the data as paths (any file of the format), `--limit`, `--seed` and `--out`
(default ./eval/<name>): per-item results are cached in `<out>/results.sqlite`, so an interrupted
run continues where it stopped, and `<out>/<name>.json` + `<out>/<name>.md` hold the report.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import click

from service.ask_records import QUOTE_MODES
from service.cli import context
from service.evaluation.runner import ResultCache, select, write_report

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _common(command):
    """--limit, --seed and --out, shared by every eval."""
    options = [
        click.option("--limit", type=click.IntRange(min=1), help="Evaluate N items only."),
        click.option("--seed", type=int, help="Draw the --limit items at random with this seed "
                     "(default: the first N in file order)."),
        click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                     help="Results cache and reports (default: ./eval/<name>)."),
    ]
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def _out(out: Path | None, name: str) -> Path:
    folder = out or Path("eval") / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _eval_library(ctx: click.Context, corpus: Path, out: Path, fmt: str | None = None):
    """A library of the corpus alone, under <out>/store (ingest is idempotent: a rerun reuses it)."""
    from index.sources import parse_file
    from service.library import Library

    library = Library(context.settings(ctx, home=out / "store"), embedder=context.shared(ctx).get("embedder"))
    ctx.call_on_close(library.close)
    with context.progress_bar("embedding corpus") as progress:
        outcome = library.ingest([parse_file(corpus, fmt)], progress=progress)
    click.echo(f"corpus: {outcome.report.summary()}", err=True)
    return library


def _finish(out: Path, name: str, report: dict, markdown: str, headline: str) -> None:
    json_path, md_path = write_report(out, name, report, markdown)
    click.echo(headline)
    click.echo(f"report: {md_path} and {json_path}")


@click.group("eval")
def eval_group() -> None:
    """Measure summaries, retrieval and answers on public benchmarks (JSON + Markdown reports)."""


@eval_group.command("tldr")
@click.option("--data", type=_FILE, required=True, help="SciTLDR-format JSON Lines (e.g. scitldr/dev.jsonl).")
@click.option("--style", type=click.Choice(["tldr", "plain"]), default="tldr", show_default=True)
@click.option("--with-title", is_flag=True, help="Give the model the title too, as the product does "
              "(default: the abstract only, SciTLDR-A's protocol).")
@_common
@click.pass_context
def eval_tldr(ctx, data, style, with_title, limit, seed, out) -> None:
    """ROUGE-1/2/L (SciTLDR protocol), stemmed and unstemmed, Lead-1 beside, published table beside."""
    from service.evaluation import tldr_eval
    from service.evaluation.rouge_protocol import load_scitldr
    from service.tldr import tldr_writer

    out = _out(out, "tldr")
    items = select(load_scitldr(data), limit, seed)
    settings = context.settings(ctx)
    generator = context.generator(ctx, settings)
    config = tldr_eval.TldrEvalConfig(style=style, with_title=with_title)
    cache = ResultCache.open(out, "tldr", config.cache_config(generator))
    computed, started = cache.missing(f"{i.paper_id}" for i in items), time.perf_counter()
    rows = tldr_eval.predict(items, generator, cache, config)
    report = {"data": str(data), "papers": len(items), "style": style, "model": tldr_writer(generator, style).name,
              "prompt": cache.config.split("|")[1].removeprefix("prompt="), "limit": limit, "seed": seed,
              "computed": computed, "seconds": round(time.perf_counter() - started, 1),
              "with_title": with_title, "scores": tldr_eval.score(items, rows),
              "measures": tldr_eval.measures(items, rows), "published_test_R1_R2_RL": tldr_eval.PUBLISHED_TEST,
              "rows": rows}
    ours, lead = report["scores"]["paperbrief"]["unstemmed"], report["scores"]["Lead-1"]["unstemmed"]
    echo = report["measures"]["paperbrief"]["title_echo_rate"]
    _finish(out, "tldr", report, tldr_eval.markdown(report),
            f"{len(items)} papers: R1/R2/RL {ours['R1']}/{ours['R2']}/{ours['RL']} unstemmed "
            f"(Lead-1 {lead['R1']}/{lead['R2']}/{lead['RL']}); title echo {echo}")


@eval_group.command("retrieval")
@click.option("--corpus", type=_FILE, required=True, help="BEIR corpus.jsonl.")
@click.option("--queries", type=_FILE, required=True, help="BEIR queries .jsonl.")
@click.option("--qrels", type=_FILE, required=True, help="BEIR qrels .tsv (with header).")
@click.option("--mode", type=click.Choice(["dense", "bm25", "hybrid", "all"]), default="all", show_default=True)
@_common
@click.pass_context
def eval_retrieval(ctx, corpus, queries, qrels, mode, limit, seed, out) -> None:
    """nDCG@10 and Recall@100 (trec_eval definitions) per mode, published numbers beside."""
    from service.evaluation import retrieval_eval as rev

    out = _out(out, "retrieval")
    judgements = rev.load_qrels(qrels)
    chosen = select([q for q in rev.load_queries(queries) if q.id in judgements], limit, seed)
    if not chosen:
        raise click.ClickException(f"no query of {queries} has a judgement in {qrels}")
    library = _eval_library(ctx, corpus, out, "scifact")
    report = {"corpus": str(corpus), "queries": str(queries), "qrels": str(qrels), "limit": limit, "seed": seed,
              "papers": library.stats()["papers"], "embedder": library.embedder.name, "modes": {}}
    for one in ("dense", "bm25", "hybrid") if mode == "all" else (mode,):
        cache = ResultCache.open(out, "retrieval", rev.cache_config(library, corpus, one))
        report["modes"][one] = rev.score_mode(rev.rank_queries(library, chosen, one, cache), judgements)
    report["published_scifact_test_ndcg@10"] = rev.PUBLISHED_SCIFACT_TEST
    _finish(out, "retrieval", report, rev.markdown(report), "; ".join(
        f"{m}: nDCG@10 {s['ndcg@10']:.4f}, Recall@100 {s['recall@100']:.4f}" for m, s in report["modes"].items()))


@eval_group.command("pubmedqa")
@click.option("--data", type=_FILE, required=True, help="PubMedQA PQA-L JSON (e.g. pqal.dev.json).")
@click.option("--method", type=click.Choice(["auto", "logits", "generate"]), default="auto", show_default=True,
              help="logits: score yes/no/maybe as the first reply token (local models); generate: parse a reply.")
@_common
@click.pass_context
def eval_pubmedqa(ctx, data, method, limit, seed, out) -> None:
    """Accuracy and macro-F1 (yes/no/maybe) from question + contexts, majority baseline beside."""
    from service.evaluation import pubmedqa

    out = _out(out, "pubmedqa")
    items = select(pubmedqa.load_pqal(data), limit, seed)
    generator = context.generator(ctx, context.settings(ctx))
    method = pubmedqa.choose_method(generator, method)
    cache = ResultCache.open(out, "pubmedqa", pubmedqa.cache_config(generator, method))
    started = time.perf_counter()
    rows = pubmedqa.run_pubmedqa(items, generator, cache, method)
    summary = pubmedqa.summarise(rows, method)
    report = {"data": str(data), "items": len(items), "model": generator.name, "method": method,
              "prompt": pubmedqa.load_prompt(pubmedqa.PROMPT).key, "limit": limit, "seed": seed,
              "seconds": round(time.perf_counter() - started, 1), "summary": summary,
              "published_test_accuracy": pubmedqa.PUBLISHED_TEST_ACCURACY,
              "rows": [{"id": item.id, **row} for item, row in zip(items, rows, strict=True)]}
    _finish(out, "pubmedqa", report, pubmedqa.markdown(report), "; ".join(
        f"{rule}: accuracy {100 * s['accuracy']:.1f}%, macro-F1 {100 * s['macro_f1']:.1f}%"
        for rule, s in summary["rules"].items()))


@eval_group.command("answers")
@click.option("--corpus", type=_FILE, required=True, help="The papers (any ingestable file, e.g. the sample page).")
@click.option("--data", type=_FILE, required=True, help="Questions JSON Lines (format: docs/EVAL.md).")
@click.option("-k", "k", default=5, show_default=True, help="Top-k papers for the retrieval hit rate.")
@click.option("--quote", type=click.Choice(QUOTE_MODES), default="after", show_default=True,
              help="How fact answers are made (as `ask --quote`).")
@_common
@click.pass_context
def eval_answers(ctx, corpus, data, k, quote, limit, seed, out) -> None:
    """Retrieval hit rate, answer-contains rate, abstention precision/recall of `paperbrief ask`."""
    from service.ask import AskOptions
    from service.evaluation import answers

    out = _out(out, "answers")
    questions = select(answers.load_questions(data), limit, seed)
    library = _eval_library(ctx, corpus, out)
    generator = context.generator(ctx, library.settings)
    options = AskOptions(quote=quote)
    cache = ResultCache.open(out, "answers", answers.cache_config(generator, library, corpus, options, k))
    rows = answers.run_answers(library, generator, questions, cache, options, k)
    summary = answers.summarise(rows)
    report = {"corpus": str(corpus), "data": str(data), "papers": library.stats()["papers"], "k": k,
              "model": generator.name, "limit": limit, "seed": seed, "summary": summary, "rows": rows}
    _finish(out, "answers", report, answers.markdown(report),
            f"hit rate top-{k} {summary['retrieval_hit_rate_top_k']}, cited {summary['retrieval_hit_rate_cited']}; "
            f"answer contains {summary['answer_contains_rate']}; abstention precision "
            f"{summary['abstention_precision']}, recall {summary['abstention_recall']}")
