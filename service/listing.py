"""List, recommend and overview answers, assembled in code over the whole scope (the newest day by
default), never from a few retrieved passages.

Every paper in scope is judged on its own: how far its best chunk's dense cosine to the topic stands
above the other papers of the day decides the clear cases; the model's yes/no on the question, read
from its first-token log-probabilities, decides the borderline ones (without a scoring model, a
cosine line). Recommendations rank the papers that are not clearly off the topic. Each listed paper
carries one evidence sentence from its abstract, cited. When no paper qualifies, the answer says so:
that is an answer about the day, not an abstention.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from index.models import Paper
from index.text import split_sentences
from service.ask_records import Answer, AskEvent, AskResult, Retrieval, Sources, Token
from service.citations import Citation, Passage, SourceSentence
from service.engines.protocol import Generator
from service.guard import addresses_model, paper_block
from service.prompts import load_prompt
from service.question_kinds import OVERVIEW, RECOMMEND
from service.search import ALL_PAPERS, SearchFilter, best_score_per_paper, coverage, term_weights

# How far a paper's best-chunk cosine to the topic (all-MiniLM-L6-v2) stands above the day's others,
# in standard deviations, decides the clear cases; the model judges the band between. Only the top
# few papers by score, and none below an absolute cosine, can be listed at all. Calibrated on the
# sample day's list and recommend questions (`python -m bench.list_calibration`; docs/BENCHMARKS.md).
INCLUDE_Z = 2.6
EXCLUDE_Z = 1.2
MIN_COSINE = 0.26
CANDIDATES = 5
# A borderline paper is listed when log P(yes) - log P(no) + JUDGE_Z_WEIGHT * (z - JUDGE_Z_CENTER) reaches
# JUDGE_MARGIN (`python -m bench.list_calibration --judge`).
JUDGE_MARGIN = -0.7
JUDGE_Z_WEIGHT = 1.0
JUDGE_Z_CENTER = 1.9
NO_SCORER_COSINE = 0.45  # without a scoring model, a borderline paper is listed from this cosine
MIN_PAPERS_FOR_Z = 8  # fewer papers than this: no spread to measure, the model judges every candidate
_ANSWERS = ("yes", "Yes", "no", "No")  # either case opens the reply
RECOMMEND_LIMIT = 3  # papers a recommendation ranks
OVERVIEW_LIMIT = 5
# Frame words of a list/recommend question, cut to leave its topic ("which papers are about X today?").
_FRAME = re.compile(
    r"^(?:(?:which|what|are there|is there|any|list|show me|find|of|the|today'?s|today’s|these|new|recent|other|"
    r"papers?|works?|studies|articles|preprints|publications|paper|one|should i read|would|could|can|might|"
    r"help me|i|read|recommend|do you|me|to|for|a|an|how many|are|is|about|on|in|that|which|what's new|"
    r"what is new|overview of|give me|an overview|worth reading|best|most relevant|useful|there)\b[\s,]*)+",
    re.IGNORECASE)
_TAIL = re.compile(r"\b(?:today|this week|these days|in (?:today's|these) papers)\b|[?.!]+$", re.IGNORECASE)


@dataclass(frozen=True)
class Judged:
    paper: Paper
    cosine: float  # best chunk's dense cosine to the topic
    coverage: float  # idf-weighted share of the topic's words in title + abstract
    verdict: str  # "yes" | "no" | "maybe" (before the model) | "model-yes" | "model-no"
    z: float | None = None  # the cosine in standard deviations above the day's mean (None: too few papers)

    @property
    def included(self) -> bool:
        return self.verdict in ("yes", "model-yes")

    @property
    def score(self) -> float:
        return self.cosine + 0.5 * self.coverage


@dataclass(frozen=True)
class ListedPaper:
    paper: Paper
    sentence_index: int
    sentence: str
    score: float
    decided_by: str  # "retrieval" or "model"


def topic_of(question: str) -> str:
    """The topic a list/recommend/overview question asks about, without its frame words."""
    text = " ".join(question.split())
    topic = _TAIL.sub("", _FRAME.sub("", text)).strip(" ,;:")
    return topic or text


def default_scope(library, filters: SearchFilter = ALL_PAPERS) -> SearchFilter:
    """The filters as given, or the newest feed day in the library when no date was given."""
    if filters.days:
        return filters
    newest = library.catalog.newest_feed_day(filters.sources)
    return SearchFilter((newest, newest), filters.sources) if newest else filters


def judge_papers(library, topic: str, papers: Sequence[Paper]) -> list[Judged]:
    """Every paper's cosine and coverage, with the clear verdicts, best first."""
    if not papers:
        return []
    vector = library.searcher.query_vector(topic)
    cosines = best_score_per_paper(library.vectors.query(vector, 20 * len(papers), [p.id for p in papers]))
    weights = term_weights(library, topic)
    scored = sorted(((p, cosines.get(p.id, 0.0), coverage(weights, f"{p.title} {p.abstract}")) for p in papers),
                    key=lambda item: -(item[1] + 0.5 * item[2]))
    spread = _spread([cosine for _, cosine, _ in scored])
    return [Judged(paper, cosine, coverage, _verdict(rank, cosine, _z(cosine, spread)), _z(cosine, spread))
            for rank, (paper, cosine, coverage) in enumerate(scored)]


def _spread(cosines: Sequence[float]) -> tuple[float, float] | None:
    """Mean and standard deviation of the day's cosines, when there are enough papers to tell."""
    if len(cosines) < MIN_PAPERS_FOR_Z:
        return None
    deviation = float(np.std(cosines))
    return (float(np.mean(cosines)), deviation) if deviation > 0 else None


def _z(cosine: float, spread: tuple[float, float] | None) -> float | None:
    return None if spread is None else (cosine - spread[0]) / spread[1]


def _verdict(rank: int, cosine: float, z: float | None) -> str:
    if rank >= CANDIDATES or cosine < MIN_COSINE:
        return "no"
    if z is None:
        return "maybe"
    return "yes" if z >= INCLUDE_Z else "no" if z < EXCLUDE_Z else "maybe"


def decide(judged: Judged, question: str, generator: Generator | None, sentences: Sequence[str]) -> Judged:
    """A borderline paper decided by the model over its title and best sentences (short: a judgement
    costs a fraction of a second); by a cosine line without a scoring model."""
    if judged.verdict != "maybe":
        return judged
    scorer = getattr(generator, "score_choices", None)
    if scorer is None:  # no log-probabilities (a remote server): the nearer side of the band decides
        return replace(judged, verdict="yes" if judged.cosine >= NO_SCORER_COSINE else "no")
    margin = judge_margin(judged.paper, sentences, question, scorer)
    # the small model alone barely separates the borderline papers; with the cosine's standing it does
    # better than either (docs/BENCHMARKS.md, "Questions of every kind")
    standing = JUDGE_Z_WEIGHT * ((judged.z if judged.z is not None else JUDGE_Z_CENTER) - JUDGE_Z_CENTER)
    return replace(judged, verdict="model-yes" if margin + standing >= JUDGE_MARGIN else "model-no")


def judge_margin(paper: Paper, sentences: Sequence[str], question: str, score_choices) -> float:
    """log P("yes") - log P("no") for "is this paper one the question asks for?"."""
    block = paper_block(paper.title, " ".join(sentences), where=paper.id)
    scores = score_choices(load_prompt("paper_relevance").render(paper=block, question=question), _ANSWERS)
    return float(np.logaddexp(scores[0], scores[1]) - np.logaddexp(scores[2], scores[3]))


def evidence(library, topic: str, papers: Sequence[Paper], count: int = 2) -> dict[str, list[tuple[int, str]]]:
    """Each paper's abstract sentences closest to the topic, best first (dense cosine, with the topic's
    rare words as a bonus); sentences that address a model are never chosen."""
    flat = [(p.id, i, p.abstract[s:e]) for p in papers for i, (s, e) in enumerate(split_sentences(p.abstract))]
    flat = [item for item in flat if not addresses_model(item[2])]
    if not flat:
        return {}
    vectors = np.asarray(library.embedder.embed_batch([text for _, _, text in flat]))
    topic_vector = np.asarray(library.searcher.query_vector(topic))
    weights = term_weights(library, topic)
    scored: dict[str, list[tuple[float, int, str]]] = {}
    for (pid, index, text), vector in zip(flat, vectors, strict=True):
        score = float(vector @ topic_vector) + 0.3 * coverage(weights, text)
        scored.setdefault(pid, []).append((score, index, text))
    return {pid: [(index, text) for _, index, text in sorted(items, key=lambda x: -x[0])[:count]]
            for pid, items in scored.items()}


def listed_papers(library, generator: Generator | None, kind: str, question: str, topic: str,
                  filters: SearchFilter) -> Iterator[ListedPaper]:
    """The papers of the scope the question asks for: clear ones first, then borderline ones as the
    model decides them; recommend and overview rank the papers not clearly off the topic instead."""
    scope = default_scope(library, filters)
    judged = judge_papers(library, topic, library.papers(scope.days, scope.sources))
    limit = {RECOMMEND: RECOMMEND_LIMIT, OVERVIEW: OVERVIEW_LIMIT}.get(kind)
    if limit is not None:  # ranked by score: the best is listed even when no paper stands out
        ranked = [j for rank, j in enumerate(judged) if j.verdict != "no" or (rank == 0 and j.cosine >= MIN_COSINE)]
        found = evidence(library, topic, [j.paper for j in ranked[:limit]])
        yield from (_listed(j, found) for j in ranked[:limit])
        return
    candidates = [j for j in judged if j.verdict != "no"]
    found = evidence(library, topic, [j.paper for j in candidates])
    for item in sorted(candidates, key=lambda j: j.verdict != "yes"):  # clear ones first, shown at once
        decided = decide(item, question, generator, [text for _, text in found.get(item.paper.id, [])])
        if decided.included:
            yield _listed(decided, found)


def _listed(judged: Judged, found: dict) -> ListedPaper:
    index, sentence = (found.get(judged.paper.id) or [(0, judged.paper.title)])[0]
    by = "model" if judged.verdict.startswith("model") else "retrieval"
    return ListedPaper(judged.paper, index, sentence, round(judged.score, 4), by)


def listing_citation(number: int, listed: ListedPaper) -> Citation:
    paper = listed.paper
    return Citation(number, paper.id, paper.title, paper.url, (listed.sentence_index,), (listed.sentence,),
                    listed.score)


# --- the answer ----------------------------------------------------------------------------------


def list_answer(library, generator: Generator | None, question: str, kind: str,
                filters: SearchFilter = ALL_PAPERS) -> Iterator[AskEvent]:
    """Events of a list, recommend or overview answer: Sources at once, a line per paper as it is
    decided, then the Answer with one cited evidence sentence per paper."""
    scope = default_scope(library, filters)
    topic = topic_of(question)
    subject = _subject(question, topic)
    yield Sources(Retrieval(topic, (), 0.0, 0.0))
    listed: list[ListedPaper] = []
    for item in listed_papers(library, generator, kind, question, topic, scope):
        listed.append(item)
        yield Token(("" if len(listed) > 1 else _lead(kind, subject, scope)) + _line(kind, len(listed), item) + "\n")
    text = (_lead(kind, subject, scope) + "\n".join(_line(kind, n, item) for n, item in enumerate(listed, 1))
            if listed else _none(subject, scope))
    if not listed:
        yield Token(text)
    citations = tuple(listing_citation(n, item) for n, item in enumerate(listed, 1))
    passages = tuple(Passage(n, item.paper, "", (SourceSentence(item.sentence_index, item.sentence),), item.score)
                     for n, item in enumerate(listed, 1))
    notes = tuple(f"[{n}] judged by the model (borderline by retrieval)" for n, item in enumerate(listed, 1)
                  if item.decided_by == "model")
    retrieval = Retrieval(topic, passages, max((p.relevance for p in passages), default=0.0))
    yield Answer(AskResult(question, text, citations, False, "", "", retrieval, notes, kind=kind))


def _subject(question: str, topic: str) -> str:
    """"about <topic>" when the question names its topic that way, else "for “<question>”"."""
    named = re.search(rf"\b(?:about|on|regarding|concerning|in)\s+{re.escape(topic.split()[0])}", question)
    return f"about {topic}" if named else f"for “{' '.join(question.split())}”"


def _none(subject: str, scope: SearchFilter) -> str:
    """The honest answer when no paper of the scope qualifies."""
    where = _scope_name(scope)
    if subject.startswith("about "):
        return f"None of the papers of {where} is {subject}."
    return f"None of the papers of {where} fits {subject.removeprefix('for ')}."


def _lead(kind: str, subject: str, scope: SearchFilter) -> str:
    where = _scope_name(scope)
    if kind == RECOMMEND:
        return f"To read first {subject.replace('about ', 'on ', 1)} ({where}):\n"
    if kind == OVERVIEW:
        return f"The papers of {where} closest to what is new {subject}:\n"
    return f"Papers of {where} {subject}:\n"


def _line(kind: str, number: int, item: ListedPaper) -> str:
    why = "why: " if kind == RECOMMEND else ""
    return f"{number}. {item.paper.title} [{number}] — {why}“{item.sentence}”"


def _scope_name(scope: SearchFilter) -> str:
    if not scope.days:
        return "the library"
    start, end = scope.days
    return start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"
