"""PubMedQA (PQA-L): question + abstract contexts → yes / no / maybe; accuracy and macro-F1.

The model never sees LONG_ANSWER (the abstract's conclusion). Two ways to get its answer:
  logits    one forward pass per item, the log-probabilities of "yes"/"no"/"maybe" (either case) as
            the reply's first token (`ChoiceScorer`); cheap, and gives scores a decision rule can use;
  generate  a few greedy tokens, parsed strictly (`parse_decision`); any Generator can do this.
With logits, two more rules add per-class offsets fitted on all the other items (leave-one-out
cross-fitting: no item is scored with offsets learnt from its own label), which corrects the model's
bias towards one word: one set fitted for macro-F1, one for accuracy (each metric is best served by
its own offsets).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.evaluation.runner import EvalDataError, markdown_table, run_items
from service.guard import neutralise, strip_injections
from service.prompts import load_prompt

ANSWERS = ("yes", "no", "maybe")
SPELLINGS = {answer: (answer, answer.capitalize()) for answer in ANSWERS}
PROMPT = "pubmedqa"
PUBLISHED_TEST_ACCURACY = {
    "majority ('yes')": 55.2, "BioBERT": 68.1, "PMC-LLaMA 7B": 73.4, "BioMedLM 2.7B": 74.4,
    "GPT-4 (zero-shot)": 75.2, "single human annotator": 78.0, "GPT-4 Medprompt": 82.0,
}
_OFFSETS = [step / 4 for step in range(-16, 17)]  # class offsets searched, in nats


class _Record(BaseModel):
    """One PQA-L entry as published (pydantic only here, at the file's edge)."""

    model_config = ConfigDict(extra="forbid")
    QUESTION: str = Field(min_length=1)
    CONTEXTS: list[str] = Field(min_length=1)
    final_decision: str = Field(pattern="^(yes|no|maybe)$")
    LABELS: list[str] = []
    LONG_ANSWER: str = ""  # never shown to the model
    MESHES: list[str] = []
    YEAR: str | None = None
    reasoning_required_pred: str | None = None
    reasoning_free_pred: str | None = None


@dataclass(frozen=True)
class PubMedQAItem:
    id: str
    question: str
    contexts: tuple[str, ...]
    labels: tuple[str, ...]
    answer: str  # gold: yes | no | maybe


def load_pqal(path: Path) -> list[PubMedQAItem]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise EvalDataError(f"{path}: cannot read: {error}") from error
    except json.JSONDecodeError as error:
        raise EvalDataError(f"{path}:{error.lineno}: not JSON: {error.msg}") from error
    if not isinstance(data, dict):
        raise EvalDataError(f"{path}: expected a JSON object keyed by PubMed id (the PQA-L format)")
    items = []
    for pmid, entry in data.items():
        try:
            record = _Record.model_validate(entry)
        except ValidationError as error:
            problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:3])
            raise EvalDataError(f"{path}: entry {pmid!r}: {problem}") from None
        items.append(PubMedQAItem(str(pmid), record.QUESTION, tuple(record.CONTEXTS), tuple(record.LABELS),
                                  record.final_decision))
    return items


def context_block(item: PubMedQAItem) -> str:
    """The abstract sections (without the conclusion), labelled, inside a defused <paper> block."""
    labels = item.labels if len(item.labels) == len(item.contexts) else ("",) * len(item.contexts)
    lines = [f"{label.capitalize()}: {text}" if label else text for label, text in zip(labels, item.contexts, strict=True)]
    return "<paper>\n" + neutralise(strip_injections("\n".join(lines), where=item.id)) + "\n</paper>"


def render_messages(item: PubMedQAItem) -> list[dict[str, str]]:
    return load_prompt(PROMPT).render(paper=context_block(item), question=neutralise(item.question))


_FIRST_WORD = re.compile(r"[a-z]+")


def parse_decision(text: str) -> str | None:
    """yes / no / maybe when the reply opens with one of them (after quotes, '**', 'Answer:'); else None."""
    words = _FIRST_WORD.findall(text.lower())
    if words[:1] == ["answer"]:
        words = words[1:]
    return words[0] if words and words[0] in ANSWERS else None


# --- answering ----------------------------------------------------------------------------------


def score_by_logits(scorer, items: Sequence[PubMedQAItem]) -> list[dict]:
    """{"logprobs": {answer: log p}} per item, both spellings of each answer pooled (log-sum-exp)."""
    spellings = [spelling for answer in ANSWERS for spelling in SPELLINGS[answer]]
    rows = []
    for item in items:
        scores = dict(zip(spellings, scorer.score_choices(render_messages(item), spellings), strict=True))
        pooled = {answer: _logsumexp([scores[s] for s in SPELLINGS[answer]]) for answer in ANSWERS}
        rows.append({"logprobs": {a: round(v, 4) for a, v in pooled.items()}, "answer": item.answer})
    return rows


def answer_by_generation(generator, items: Sequence[PubMedQAItem]) -> list[dict]:
    replies = generator.generate([render_messages(item) for item in items], max_new_tokens=6, stop=["\n"])
    return [{"reply": reply, "parsed": parse_decision(reply), "answer": item.answer}
            for item, reply in zip(items, replies, strict=True)]


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


# --- decisions and metrics ----------------------------------------------------------------------


def decide(logprobs: dict[str, float], offsets: dict[str, float] | None = None) -> str:
    offsets = offsets or {}
    return max(ANSWERS, key=lambda a: (logprobs[a] + offsets.get(a, 0.0), -ANSWERS.index(a)))


OBJECTIVES = {"macro_f1": ("macro_f1", "accuracy"), "accuracy": ("accuracy", "macro_f1")}  # metric, tie-break


def fit_offsets(rows: Sequence[dict], objective: str = "macro_f1") -> dict[str, float]:
    """Offsets for "no" and "maybe" (relative to "yes") maximising `objective` (then the other metric,
    then the smallest shift) on `rows`."""
    grid, predicted, golds = _grid_predictions(rows)
    best = _best_offsets(grid, *_metrics(*_confusion(predicted, golds), len(rows)), objective)
    return dict(zip(ANSWERS, grid[best].tolist(), strict=True))


def cross_fitted(rows: Sequence[dict], objective: str = "macro_f1") -> list[str]:
    """Leave-one-out predictions: each item is decided with offsets fitted on all the other items, so
    no item's own label is used, and each fit sees as much data as a deployment fitted on all of them
    would (2-fold splits fit on half the items, and their accuracy moved with the split; docs/BENCHMARKS.md)."""
    grid, predicted, golds = _grid_predictions(rows)
    tp, guessed, actual = _confusion(predicted, golds)
    choices = []
    for i, gold in enumerate(golds):
        mine = predicted[:, i, None] == np.arange(len(ANSWERS))  # the offsets × answers item i adds
        counts = (tp - mine * (np.arange(len(ANSWERS)) == gold), guessed - mine, actual - (np.arange(len(ANSWERS)) == gold))
        best = _best_offsets(grid, *_metrics(*counts, len(rows) - 1), objective)
        choices.append(ANSWERS[predicted[best, i]])
    return choices


def _grid_predictions(rows: Sequence[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every offset pair searched (G × 3), each item's decision under each (G × n), gold indices (n)."""
    logprobs = np.array([[row["logprobs"][a] for a in ANSWERS] for row in rows], dtype=float).reshape(-1, 3)
    grid = np.array([(0.0, no, maybe) for no in _OFFSETS for maybe in _OFFSETS])
    # argmax keeps the first of equal scores: ties go to the earlier answer, as in `decide`
    predicted = np.argmax(logprobs[None, :, :] + grid[:, None, :], axis=2)
    golds = np.array([ANSWERS.index(row["answer"]) for row in rows], dtype=int)
    return grid, predicted, golds


def _confusion(predicted: np.ndarray, golds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per offset pair and answer (G × 3): true positives, times predicted, times gold."""
    answers = np.arange(len(ANSWERS))
    said = predicted[:, :, None] == answers  # G × n × 3
    gold = golds[:, None] == answers  # n × 3
    return (said & gold[None]).sum(1), said.sum(1), np.broadcast_to(gold.sum(0), said.shape[::2])


def _metrics(tp: np.ndarray, guessed: np.ndarray, actual: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and macro-F1 per offset pair, from its confusion counts (as `classification_scores`)."""
    both = guessed + actual
    f1 = np.where(both > 0, 2 * tp / np.maximum(both, 1), 0.0)
    return tp.sum(1) / max(n, 1), f1.mean(1)


def _best_offsets(grid: np.ndarray, accuracy: np.ndarray, macro_f1: np.ndarray, objective: str) -> int:
    first, second = (accuracy, macro_f1) if OBJECTIVES[objective][0] == "accuracy" else (macro_f1, accuracy)
    shift = np.abs(grid).sum(1)
    # lexsort's last key sorts first; rounding makes float ties of equal counts compare equal
    order = np.lexsort((np.arange(len(grid)), shift, -second.round(12), -first.round(12)))
    return int(order[0])


def classification_scores(golds: Sequence[str], predicted: Sequence[str | None]) -> dict:
    """Accuracy and 3-class macro-F1 (×100 where shown); an unparsed answer counts as wrong."""
    n = len(golds)
    f1s = {}
    for answer in ANSWERS:
        tp = sum(g == p == answer for g, p in zip(golds, predicted, strict=True))
        guessed, actual = sum(p == answer for p in predicted), sum(g == answer for g in golds)
        f1s[answer] = 2 * tp / (guessed + actual) if guessed + actual else 0.0
    return {"n": n, "accuracy": sum(g == p for g, p in zip(golds, predicted, strict=True)) / n if n else 0.0,
            "macro_f1": sum(f1s.values()) / len(ANSWERS), "f1": f1s,
            "predicted": dict(Counter(p or "unparsed" for p in predicted))}


def summarise(rows: Sequence[dict], method: str) -> dict:
    """Every decision rule available for `method`, beside the majority baseline of these items."""
    golds = [row["answer"] for row in rows]
    majority = Counter(golds).most_common(1)[0][0] if golds else "yes"
    rules = {f"majority ('{majority}')": classification_scores(golds, [majority] * len(golds))}
    if method == "generate":
        rules["generated, strict parse"] = classification_scores(golds, [row["parsed"] for row in rows])
        return {"gold": dict(Counter(golds)), "rules": rules}
    rules["logits, argmax"] = classification_scores(golds, [decide(row["logprobs"]) for row in rows])
    offsets = {}
    for objective, label in (("macro_f1", "for macro-F1"), ("accuracy", "for accuracy")):
        rules[f"logits + class offsets {label} (leave-one-out cross-fitted)"] = classification_scores(
            golds, cross_fitted(rows, objective))
        offsets[objective] = fit_offsets(rows, objective)
    return {"gold": dict(Counter(golds)), "rules": rules, "offsets_fitted_on_all_items": offsets}


# --- running and reporting ------------------------------------------------------------------------


def choose_method(generator, method: str) -> str:
    """"auto" = logits when the generator can score choices (local models), else generate."""
    if method == "auto":
        return "logits" if hasattr(generator, "score_choices") else "generate"
    if method == "logits" and not hasattr(generator, "score_choices"):
        raise ValueError(f"generator {generator.name!r} can't score choices (remote model): use --method generate")
    return method


def cache_config(generator, method: str) -> str:
    return f"model={generator.name}|prompt={load_prompt(PROMPT).key}|method={method}"


def run_pubmedqa(items: Sequence[PubMedQAItem], generator, cache, method: str) -> list[dict]:
    """Per-item results, cached; logits go one item at a time (one forward pass each, nothing to
    batch), so an interrupted run loses at most one item; generation is batched by 8."""
    if method == "logits":
        return run_items(items, lambda item: item.id, lambda batch: score_by_logits(generator, batch), cache,
                         "pubmedqa", batch_size=1)
    return run_items(items, lambda item: item.id, lambda batch: answer_by_generation(generator, batch), cache,
                     "pubmedqa", batch_size=8)


def markdown(report: dict) -> str:
    rules = report["summary"]["rules"]
    rows = [[rule, round(100 * s["accuracy"], 1), round(100 * s["macro_f1"], 1),
             ", ".join(f"{k} {v}" for k, v in sorted(s["predicted"].items()))] for rule, s in rules.items()]
    published = [[name, value] for name, value in PUBLISHED_TEST_ACCURACY.items()]
    return "\n\n".join([
        "# PubMedQA eval (PQA-L, reasoning-required: question + contexts, never the long answer)",
        (f"Data `{report['data']}`: {report['items']} items, gold {report['summary']['gold']}; model "
        f"`{report['model']}`, prompt `{report['prompt']}`, method `{report['method']}`."),
        markdown_table(["decision rule", "accuracy %", "macro-F1 %", "predicted"], rows),
        "Published **test** accuracy, for reference (other split):",
        markdown_table(["system", "accuracy %"], published),
    ])
