"""`paperbrief eval tldr`: ROUGE of paperbrief's TL;DRs on SciTLDR-format data, Lead-1 in the same run.

Protocol in `rouge_protocol` (best gold by R1, that gold's R1/R2/RL F1×100, mean over papers),
stemmed and unstemmed; the published SciTLDR-A test table is printed beside (a different split).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from index.models import Paper
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

    def cache_config(self, generator) -> str:
        """What a cached TL;DR depends on: model, prompt version, style, shaping rules."""
        return (f"model={tldr_writer(generator, self.style).name}|prompt={load_prompt(STYLES[self.style][0]).key}"
                f"|style={self.style}|shaping={SHAPING_VERSION}")


def as_paper(item: TldrItem) -> Paper:
    return Paper(id=f"scitldr-{item.paper_id}", title=item.title, abstract=item.abstract, source="scitldr")


def predict(items: Sequence[TldrItem], generator, cache: ResultCache, config: TldrEvalConfig) -> list[dict]:
    """{"paper_id", "prediction", "lead1"} per item, cached per item (a rerun resumes)."""

    def compute(batch: list[TldrItem]) -> list[dict]:
        papers = [as_paper(item) for item in batch]
        texts = {s.paper.id: s.text for s in summarise(papers, generator, cache.store, style=config.style,
                                                       batch_size=config.batch_size)}
        return [{"paper_id": item.paper_id, "prediction": texts[paper.id], "lead1": lead_one(item)}
                for item, paper in zip(batch, papers, strict=True)]

    # Similar lengths batch with little padding: sort before cutting batches, report in file order.
    by_length = sorted(items, key=lambda item: len(item.abstract))
    rows = run_items(by_length, lambda item: item.paper_id, compute, cache, "tldr", config.batch_size)
    found = {row["paper_id"]: row for row in rows}
    return [found[item.paper_id] for item in items]


def score(items: Sequence[TldrItem], rows: Sequence[dict]) -> dict:
    golds = [item.golds for item in items]
    systems = {"paperbrief": [row["prediction"] for row in rows], "Lead-1": [row["lead1"] for row in rows]}
    return {name: {variant: corpus_scores(list(zip(texts, golds, strict=True)), variant == "stemmed")
                   for variant in ("unstemmed", "stemmed")} for name, texts in systems.items()}


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
        "ROUGE F1 × 100, SciTLDR protocol (best gold by ROUGE-1, mean over papers).",
        markdown_table(header, rows),
        "Published systems are scored on the test split with Perl ROUGE; compare the dev numbers as a trend.",
    ])
