"""`paperbrief eval tldr`: ROUGE of paperbrief's TL;DRs on SciTLDR-format data, with Lead-1 and the
title used as the TL;DR in the same run, and the measures ROUGE can't see (`tldr_measures`).

By default the model sees the abstract only, as SciTLDR-A's published systems do; `with_title` gives it
the title too, as the product does. Protocol in `rouge_protocol` (best gold by R1, that gold's R1/R2/RL
F1×100, mean over papers), stemmed and unstemmed; the published SciTLDR-A test table is printed beside
(a different split).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from index.models import Paper
from service.evaluation import tldr_measures
from service.evaluation.rouge_protocol import TldrItem, corpus_scores, lead_one
from service.evaluation.runner import ResultCache, markdown_table, run_items
from service.prompts import load_prompt
from service.tldr import BATCH_SIZE, SHAPING_VERSION, STYLES, summarise, tldr_writer

# Cachola et al. 2020, SciTLDR-A test, R1/R2/RL (Perl ROUGE; stemming unstated).
PUBLISHED_TEST = {
    "BERTSumExt": (38.5, 16.6, 30.5), "MatchSum": (42.7, 20.0, 34.0), "BART": (43.3, 20.8, 35.0),
    "BART-XSUM": (42.5, 21.1, 34.9), "CATTS": (43.8, 20.9, 35.5), "CATTS-XSUM": (44.3, 21.3, 35.9),
    "Oracle sentence": (47.7, 24.7, 38.5),
}
LEAD1_TEST = {"unstemmed": (28.2, 10.5, 22.4), "stemmed": (31.3, 11.4, 24.1)}  # rouge-score, shared/data README


@dataclass(frozen=True)
class TldrEvalConfig:
    style: str = "tldr"
    batch_size: int = BATCH_SIZE
    with_title: bool = False  # False: the abstract only (SciTLDR-A); True: the product's input

    def cache_config(self, generator) -> str:
        """What a cached TL;DR depends on: model, prompt version, style, shaping rules, the input."""
        return (f"model={tldr_writer(generator, self.style).name}|prompt={load_prompt(STYLES[self.style][0]).key}"
                f"|style={self.style}|shaping={SHAPING_VERSION}|title={self.with_title}")


def as_paper(item: TldrItem, with_title: bool = True) -> Paper:
    return Paper(id=f"scitldr-{item.paper_id}", title=item.title if with_title else "", abstract=item.abstract,
                 source="scitldr")


def predict(items: Sequence[TldrItem], generator, cache: ResultCache, config: TldrEvalConfig) -> list[dict]:
    """{"paper_id", "prediction", "lead1"} per item, cached per item (a rerun resumes)."""

    def compute(batch: list[TldrItem]) -> list[dict]:
        papers = [as_paper(item, config.with_title) for item in batch]
        texts = {s.paper.id: s.text for s in summarise(papers, generator, cache.store, style=config.style,
                                                       batch_size=config.batch_size)}
        return [{"paper_id": item.paper_id, "prediction": texts[paper.id], "lead1": lead_one(item)}
                for item, paper in zip(batch, papers, strict=True)]

    # Similar lengths batch with little padding: sort before cutting batches, report in file order.
    by_length = sorted(items, key=lambda item: len(item.abstract))
    rows = run_items(by_length, lambda item: item.paper_id, compute, cache, "tldr", config.batch_size)
    found = {row["paper_id"]: row for row in rows}
    return [found[item.paper_id] for item in items]


def systems(items: Sequence[TldrItem], rows: Sequence[dict]) -> dict[str, list[str]]:
    """paperbrief's TL;DRs beside the trivial baselines: Lead-1, and the title as the TL;DR."""
    found = {"paperbrief": [row["prediction"] for row in rows], "Lead-1": [row["lead1"] for row in rows]}
    if any(item.title for item in items):
        found["Title as TL;DR"] = [item.title for item in items]
    return found


def score(items: Sequence[TldrItem], rows: Sequence[dict]) -> dict:
    golds = [item.golds for item in items]
    return {name: {variant: corpus_scores(list(zip(texts, golds, strict=True)), variant == "stemmed")
                   for variant in ("unstemmed", "stemmed")} for name, texts in systems(items, rows).items()}


def measures(items: Sequence[TldrItem], rows: Sequence[dict]) -> dict:
    """Title echo rate, novelty and result coverage of each system (tldr_measures)."""
    titles, abstracts = [item.title for item in items], [item.abstract for item in items]
    return {name: tldr_measures.summary(texts, titles, abstracts) for name, texts in systems(items, rows).items()}


def markdown(report: dict) -> str:
    header = ["system", "split", "R1", "R2", "RL", "R1 stemmed", "R2 stemmed", "RL stemmed"]
    rows = []
    for name, scores in report["scores"].items():
        u, s = scores["unstemmed"], scores["stemmed"]
        rows.append([name, f"{report['data']} ({u['n']} papers)", u["R1"], u["R2"], u["RL"], s["R1"], s["R2"], s["RL"]])
    rows.append(["Lead-1 (published protocol, rouge-score)", "SciTLDR-A test", *LEAD1_TEST["unstemmed"],
                 *LEAD1_TEST["stemmed"]])
    rows += [[name, "SciTLDR-A test (published)", *scores, "", "", ""] for name, scores in PUBLISHED_TEST.items()]
    return "\n\n".join([
        f"# TL;DR eval ({report['style']})",
        (f"Model `{report['model']}`, prompt `{report['prompt']}`; {report['papers']} papers; "
        f"{report['seconds']} s of generation in this run ({report['computed']} computed, the rest cached)."),
        f"Input: {'title and abstract (the product)' if report.get('with_title') else 'abstract only (SciTLDR-A)'}. "
        "ROUGE F1 × 100, SciTLDR protocol (best gold by ROUGE-1, mean over papers).",
        markdown_table(header, rows),
        "Published systems are scored on the test split with Perl ROUGE; compare the dev numbers as a trend.",
        "What ROUGE can't see: title echo (≥ 80 % of the content words from the title), novelty (share of "
        "content words not in the title), result coverage (of abstracts stating a result number, the share "
        "of TL;DRs carrying one).",
        markdown_table(["system", "title echo rate", "novelty", "result coverage"],
                       [[name, m["title_echo_rate"], m["novelty"], m["result_coverage"]]
                        for name, m in report.get("measures", {}).items()]),
    ])
