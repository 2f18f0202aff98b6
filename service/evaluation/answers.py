"""`paperbrief eval answers`: cited answers over a corpus, scored against a question set.

Question file (JSON Lines, documented in docs/EVAL.md), one question a line:

    {"id": "tracks-input", "question": "…", "papers": ["<title or paper id>", …], "answer_any": ["…", …]}

An empty `papers` list marks a question the corpus can't answer: paperbrief should abstain.
Scores: retrieval hit rate (every expected paper in the top k / cited), answer-contains rate (an
`answer_any` string in the answer, case-insensitive), abstention precision and recall, latency.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.ask import AskOptions, ask
from service.evaluation.retrieval_eval import library_config
from service.evaluation.runner import EvalDataError, ResultCache, markdown_table, read_json_lines, run_items
from service.prompts import load_prompt
from service.question_kinds import COMPARE, FACT, FOLLOW_UP, KINDS, LIST, OUT_OF_SCOPE, RECOMMEND

log = logging.getLogger(__name__)


class _QuestionLine(BaseModel):
    model_config = ConfigDict(extra="allow")  # other annotations are kept out, with a warning
    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    papers: list[str]
    answer_any: list[str] = []
    answer_all: list[str] = []  # compare: facts every good answer states
    kind: Literal[KINDS] | None = None  # type: ignore[valid-type]  # default: fact, out_of_scope without papers


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    papers: tuple[str, ...]  # titles or paper ids; empty = unanswerable (for a list: "none of them")
    answer_any: tuple[str, ...]
    kind: str = FACT
    answer_all: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        """Whether an abstention is wrong: every list question has an answer, "none" included."""
        return bool(self.papers) or self.kind == LIST


def load_questions(path: Path) -> list[Question]:
    questions, seen, unknown = [], set(), set()
    for number, row in read_json_lines(path):
        line = _validated(path, number, row)
        if line.id in seen:
            raise EvalDataError(f"{path}:{number}: duplicate id {line.id!r}")
        unknown.update(line.model_extra or {})
        kind = line.kind or (FACT if line.papers else OUT_OF_SCOPE)
        if line.papers and kind in (FACT, FOLLOW_UP) and not line.answer_any:
            ignored = f" (ignored unknown field(s): {', '.join(line.model_extra)})" if line.model_extra else ""
            raise EvalDataError(f"{path}:{number}: an answerable fact question needs at least one answer_any "
                                f"string{ignored}")
        if kind == COMPARE and len(line.papers) < 2:
            raise EvalDataError(f"{path}:{number}: a compare question names at least two papers")
        seen.add(line.id)
        questions.append(Question(line.id, line.question, tuple(line.papers), tuple(line.answer_any), kind,
                                  tuple(line.answer_all)))
    if unknown:
        log.warning("%s: ignored unknown field(s): %s", path, ", ".join(sorted(unknown)))
    return questions


def _validated(path: Path, number: int, row: dict) -> _QuestionLine:
    try:
        return _QuestionLine.model_validate(row)
    except ValidationError as error:
        problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in error.errors()[:3])
        raise EvalDataError(f"{path}:{number}: {problem}") from None


def cache_config(generator, library, corpus: Path, options: AskOptions, k: int) -> str:
    """Answers depend on the model and prompt, and on everything retrieval depends on."""
    names = ("answer", "question_kind", "question_likelihood", "extract_json", "compare_summary")
    prompts = ",".join(load_prompt(name).key for name in names)
    return f"model={generator.name}|prompts={prompts}|{library_config(library, corpus)}|options={options}|k={k}"


def matches(expected: str, paper_id: str, title: str) -> bool:
    """An expected paper is named by its id or its title (case and spacing ignored)."""
    norm = lambda text: " ".join(text.lower().split())
    return norm(expected) in (norm(paper_id), norm(title))


def all_found(expected: Sequence[str], papers: Sequence[tuple[str, str]]) -> bool:
    return bool(expected) and all(any(matches(e, pid, title) for pid, title in papers) for e in expected)


def answer_one(library, generator, question: Question, options: AskOptions, k: int) -> dict:
    started = time.perf_counter()
    result = ask(library, generator, question.question, options=options)
    seconds = time.perf_counter() - started
    top_k = [(hit.paper.id, hit.paper.title) for hit in library.search(question.question, k, mode=options.mode)]
    cited = [(c.paper_id, c.title) for c in result.citations]
    text = result.text.lower()
    return {
        "id": question.id, "kind": question.kind, "answered_as": result.kind,
        "answerable": question.answerable, "abstained": result.abstained,
        "reason": result.reason, "in_top_k": all_found(question.papers, top_k),
        "cited": all_found(question.papers, cited),
        "contains": any(a.lower() in text for a in question.answer_any) and not result.abstained,
        "facts_present": [a for a in question.answer_all if a.lower() in text],
        "facts_expected": len(question.answer_all),
        "listed_right": sum(any(matches(e, pid, t) for e in question.papers) for pid, t in cited),
        "listed": len(cited), "expected": len(question.papers),
        "first_right": bool(cited) and any(matches(e, *cited[0]) for e in question.papers),
        "added_citation": any(c.added for c in result.citations), "relevance": result.retrieval.relevance,
        "seconds": round(seconds, 2), "answer": result.text, "raw": result.raw_answer,
        "notes": list(result.notes),
    }


def run_answers(library, generator, questions: Sequence[Question], cache: ResultCache,
                options: AskOptions, k: int = 5) -> list[dict]:
    compute = lambda batch: [answer_one(library, generator, q, options, k) for q in batch]
    return run_items(questions, lambda q: q.id, compute, cache, "answers")


def summarise(rows: Sequence[dict]) -> dict:
    """Fact and out-of-scope questions as before; then every measure per kind."""
    plain = [r for r in rows if r.get("kind", FACT) in (FACT, FOLLOW_UP, OUT_OF_SCOPE)]
    summary = _fact_measures(plain)
    summary["per_kind"] = {kind: _kind_measures(kind, [r for r in rows if r.get("kind", FACT) == kind])
                           for kind in KINDS if any(r.get("kind", FACT) == kind for r in rows)}
    return summary


def _rate(part: Sequence, whole: Sequence) -> float | None:
    return _share(len(part), len(whole))


def _share(count: int, total: int) -> float | None:
    return round(count / total, 3) if total else None


def _fact_measures(rows: Sequence[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    abstained = [r for r in rows if r["abstained"]]
    return {
        "answerable": len(answerable), "unanswerable": len(unanswerable),
        "retrieval_hit_rate_top_k": _rate([r for r in answerable if r["in_top_k"]], answerable),
        "retrieval_hit_rate_cited": _rate([r for r in answerable if r["cited"]], answerable),
        "answer_contains_rate": _rate([r for r in answerable if r["contains"]], answerable),
        "cited_without_the_fact": len([r for r in answerable if r["cited"] and not r["contains"]]),
        "answered_rate": _rate([r for r in answerable if not r["abstained"]], answerable),
        "added_citation_rate": _rate([r for r in answerable if r["added_citation"]], answerable),
        "abstention_precision": _rate([r for r in abstained if not r["answerable"]], abstained),
        "abstention_recall": _rate([r for r in unanswerable if r["abstained"]], unanswerable),
        "abstention_reasons": {reason: sum(r["reason"] == reason for r in abstained)
                               for reason in sorted({r["reason"] for r in abstained})},
        "median_seconds": statistics.median(r["seconds"] for r in rows) if rows else None,
    }


def _kind_measures(kind: str, rows: Sequence[dict]) -> dict:
    measures = {"questions": len(rows), "kind_recognised": _rate([r for r in rows if r["answered_as"] == kind], rows),
                "median_seconds": statistics.median(r["seconds"] for r in rows)}
    if kind == LIST:
        listed, expected = sum(r["listed"] for r in rows), sum(r["expected"] for r in rows)
        right = sum(r["listed_right"] for r in rows)
        measures.update(recall=_share(right, expected), precision=_share(right, listed),
                        none_answered_right=_rate([r for r in rows if not r["expected"] and not r["listed"]],
                                                  [r for r in rows if not r["expected"]]))
    elif kind == RECOMMEND:
        measures["hit_at_1"] = _rate([r for r in rows if r["first_right"]], rows)
    elif kind == COMPARE:
        measures.update(all_papers_cited=_rate([r for r in rows if r["cited"]], rows),
                        facts_present=_share(sum(len(r["facts_present"]) for r in rows),
                                             sum(r["facts_expected"] for r in rows)),
                        flagged_by_checker=sum(len(r["notes"]) for r in rows))
    else:
        measures.update(_fact_measures(rows))
    return measures


def markdown(report: dict) -> str:
    summary = report["summary"]
    metrics = [(name.replace("_", " "), summary[name]) for name in (
        "retrieval_hit_rate_top_k", "retrieval_hit_rate_cited", "answer_contains_rate", "answered_rate",
        "added_citation_rate", "abstention_precision", "abstention_recall", "median_seconds")]
    misses = [[r["id"], "abstained" if r["abstained"] else "answered", r["answer"][:120]]
              for r in report["rows"] if r["answerable"] != r["abstained"] and not r["contains"]]
    return "\n\n".join([
        "# Answer eval",
        (f"Corpus `{report['corpus']}` ({report['papers']} papers), questions `{report['data']}` "
        f"({summary['answerable']} answerable, {summary['unanswerable']} unanswerable); model "
        f"`{report['model']}`; top-k = {report['k']}."),
        markdown_table(["metric", "value"], metrics),
        "Answerable questions without the expected answer:" if misses else "Every answerable question was answered.",
        markdown_table(["id", "outcome", "answer"], misses) if misses else "",
    ])
