"""List, recommend and overview answers, assembled in code over the whole scope (the newest day by
default), never from a few retrieved passages.

Every paper in scope is judged on its own: its best chunk's dense cosine to the topic and the share
of the topic's rare words it holds decide the clear cases; the model's yes/no, read from its
first-token log-probabilities, decides the borderline ones (without a scoring model the midpoint
decides). Each listed paper carries one evidence sentence from its abstract, cited. When no paper
qualifies, the answer says so: that is an answer about the day, not an abstention.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from index.models import Paper
from index.text import query_terms, split_sentences, stem
from service.ask_records import Answer, AskEvent, AskResult, Retrieval, Sources, Token
from service.citations import Citation, Passage, SourceSentence, content_stems
from service.engines.protocol import Generator
from service.guard import addresses_model, paper_block
from service.prompts import load_prompt
from service.question_kinds import OVERVIEW, RECOMMEND
from service.search import ALL_PAPERS, SearchFilter, idf_weights

# Clear cases, by the paper's best chunk cosine to the topic (all-MiniLM-L6-v2) or the share of the
# topic's idf-weighted words in title + abstract; between them the model judges (docs/BENCHMARKS.md).
INCLUDE_COSINE = 0.50
INCLUDE_COVERAGE = 0.95
EXCLUDE_COSINE = 0.25
EXCLUDE_COVERAGE = 0.50
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
    days = [day for paper in library.papers(None, filters.sources) for day in paper.feed_dates]
    return SearchFilter((max(days), max(days)), filters.sources) if days else filters


def judge_papers(library, topic: str, papers: Sequence[Paper]) -> list[Judged]:
    """Every paper's cosine and coverage, with the clear verdicts, best first."""
    if not papers:
        return []
    vector = library.searcher.query_vector(topic)
    cosines: dict[str, float] = {}
    for chunk_id, cosine in library.vectors.query(vector, 20 * len(papers), [p.id for p in papers]):
        paper_id = chunk_id.rsplit("#", 1)[0]
        cosines[paper_id] = max(cosine, cosines.get(paper_id, -1.0))
    weights = _topic_weights(library, topic)
    judged = [_judged(paper, cosines.get(paper.id, 0.0), _coverage(weights, paper)) for paper in papers]
    return sorted(judged, key=lambda j: -j.score)


def _topic_weights(library, topic: str) -> dict[str, float]:
    terms = query_terms(topic)
    return {stem(t): w for t, w in idf_weights(terms, library.catalog.term_statistics(terms)).items()}


def _coverage(weights: dict[str, float], paper: Paper) -> float:
    return _share(weights, paper.title + " " + paper.abstract)


def _share(weights: dict[str, float], text: str) -> float:
    """The idf-weighted share of the topic's words that `text` holds."""
    if not weights:
        return 0.0
    present = content_stems(text)
    return sum(w for word, w in weights.items() if word in present) / sum(weights.values())


def _judged(paper: Paper, cosine: float, coverage: float) -> Judged:
    if cosine >= INCLUDE_COSINE or coverage >= INCLUDE_COVERAGE:
        verdict = "yes"
    elif cosine < EXCLUDE_COSINE and coverage < EXCLUDE_COVERAGE:
        verdict = "no"
    else:
        verdict = "maybe"
    return Judged(paper, cosine, coverage, verdict)


def decide(judged: Judged, topic: str, generator: Generator | None, sentences: Sequence[str]) -> Judged:
    """A borderline paper decided by the model's yes/no log-probabilities over its title and best
    sentences (short: a judgement costs a fraction of a second); by the midpoint without a scorer."""
    if judged.verdict != "maybe":
        return judged
    scorer = getattr(generator, "score_choices", None)
    if scorer is None:
        middle = (INCLUDE_COSINE + EXCLUDE_COSINE) / 2
        return replace(judged, verdict="yes" if judged.cosine >= middle else "no")
    block = paper_block(judged.paper.title, " ".join(sentences), where=judged.paper.id)
    yes, no = scorer(load_prompt("paper_relevance").render(paper=block, topic=topic), ("yes", "no"))
    return replace(judged, verdict="model-yes" if yes > no else "model-no")


def evidence(library, topic: str, papers: Sequence[Paper], count: int = 2) -> dict[str, list[tuple[int, str]]]:
    """Each paper's abstract sentences closest to the topic, best first (dense cosine, with the topic's
    rare words as a bonus); sentences that address a model are never chosen."""
    flat = [(p.id, i, p.abstract[s:e]) for p in papers for i, (s, e) in enumerate(split_sentences(p.abstract))]
    flat = [item for item in flat if not addresses_model(item[2])]
    if not flat:
        return {}
    vectors = np.asarray(library.embedder.embed_batch([text for _, _, text in flat]))
    topic_vector = np.asarray(library.searcher.query_vector(topic))
    weights = _topic_weights(library, topic)
    scored: dict[str, list[tuple[float, int, str]]] = {}
    for (pid, index, text), vector in zip(flat, vectors, strict=True):
        score = float(vector @ topic_vector) + 0.3 * _share(weights, text)
        scored.setdefault(pid, []).append((score, index, text))
    return {pid: [(index, text) for _, index, text in sorted(items, key=lambda x: -x[0])[:count]]
            for pid, items in scored.items()}


def listed_papers(library, generator: Generator | None, kind: str, topic: str,
                  filters: SearchFilter) -> Iterator[ListedPaper]:
    """The papers of the scope about the topic: clear ones first, then borderline ones as the model
    decides them; recommend and overview rank all of them and keep the best few."""
    scope = default_scope(library, filters)
    judged = [j for j in judge_papers(library, topic, library.papers(scope.days, scope.sources)) if j.verdict != "no"]
    found = evidence(library, topic, [j.paper for j in judged])
    limit = {RECOMMEND: RECOMMEND_LIMIT, OVERVIEW: OVERVIEW_LIMIT}.get(kind)
    if limit is not None:  # ranked: every borderline paper decided before ranking
        kept = [d for d in (_decided(j, topic, generator, found) for j in judged) if d.included]
        yield from (_listed(j, found) for j in sorted(kept, key=lambda j: -j.score)[:limit])
        return
    for item in sorted(judged, key=lambda j: j.verdict != "yes"):  # clear ones first, shown at once
        decided = _decided(item, topic, generator, found)
        if decided.included:
            yield _listed(decided, found)


def _decided(judged: Judged, topic: str, generator: Generator | None, found: dict) -> Judged:
    return decide(judged, topic, generator, [text for _, text in found.get(judged.paper.id, [])])


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
    topic = topic_of(question)
    scope = default_scope(library, filters)
    yield Sources(Retrieval(topic, (), 0.0, 0.0))
    listed: list[ListedPaper] = []
    for item in listed_papers(library, generator, kind, topic, scope):
        listed.append(item)
        yield Token(("" if len(listed) > 1 else _lead(kind, topic, scope)) + _line(kind, len(listed), item) + "\n")
    text = (_lead(kind, topic, scope) + "\n".join(_line(kind, n, item) for n, item in enumerate(listed, 1))
            if listed else f"None of the papers of {_scope_name(scope)} is about {topic}.")
    if not listed:
        yield Token(text)
    citations = tuple(listing_citation(n, item) for n, item in enumerate(listed, 1))
    passages = tuple(Passage(n, item.paper, "", (SourceSentence(item.sentence_index, item.sentence),), item.score)
                     for n, item in enumerate(listed, 1))
    notes = tuple(f"[{n}] judged by the model (borderline by retrieval)" for n, item in enumerate(listed, 1)
                  if item.decided_by == "model")
    retrieval = Retrieval(topic, passages, max((p.relevance for p in passages), default=0.0))
    yield Answer(AskResult(question, text, citations, False, "", "", retrieval, notes, kind=kind))


def _lead(kind: str, topic: str, scope: SearchFilter) -> str:
    where = _scope_name(scope)
    if kind == RECOMMEND:
        return f"To read first for {topic} ({where}):\n"
    if kind == OVERVIEW:
        return f"On {topic} ({where}), the closest papers:\n"
    return f"Papers of {where} about {topic}:\n"


def _line(kind: str, number: int, item: ListedPaper) -> str:
    why = "why: " if kind == RECOMMEND else ""
    return f"{number}. {item.paper.title} [{number}] — {why}“{item.sentence}”"


def _scope_name(scope: SearchFilter) -> str:
    if not scope.days:
        return "the library"
    start, end = scope.days
    return start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"
