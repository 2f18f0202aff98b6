"""Questions answered from the indexed papers with checked citations — or an honest abstention.

    retrieve: hybrid search → one chunk per paper → its dense cosine and rare-word coverage
    abstain early (no model call) when no candidate reaches MIN_RELEVANCE or MIN_COVERAGE
    a question that names papers keeps only their passages (none left: abstain, no model call); each
    passage holds the paper's sentences closest to the question from its whole abstract (`with_best_sentences`)
    numbered `source_block`s within a token budget → the model's answer (service.fact_generation),
    streamed, its citations checked in code; the model's "NOT IN THE PAPERS" → abstain
    a fact question naming or describing two or more papers: answered paper by paper (service.paper_by_paper)

`ask_stream` yields events (Sources, Token…, Answer) for the CLI and the web app; `ask` returns the
final `AskResult`. A `Conversation` carries follow-up questions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from index.models import Chunk, Paper
from index.text import content_stems, points_at_code, query_terms, split_sentences
from service.answer_quote import asks_figure, states_figure, states_number, which_paper_clause
from service.answer_scope import measure_abstention
from service.ask_records import (
    DEFAULT_OPTIONS,
    Answer,
    AskEvent,
    AskOptions,
    AskResult,
    Retrieval,
    Sources,
    Token,
)
from service.asked_measure import unstated_measures
from service.citations import Passage, SourceSentence, strip_markers
from service.compare import MIN_PAPERS
from service.compare_answer import compare_answer, named_papers, names_outright
from service.engines.protocol import Generator
from service.fact_generation import abstention, generated_answer, quoted_answer, render_source
from service.guard import injected_sentences, neutralise
from service.listing import list_answer
from service.paper_by_paper import (
    NamedPart,
    described_papers,
    is_named_by,
    paper_by_paper,
    primary_names,
    question_about,
)
from service.question_kinds import COMPARE, FACT, LIST, OUT_OF_SCOPE, OVERVIEW, RECOMMEND, classify
from service.search import ALL_PAPERS, SearchFilter, SearchHit, coverage, term_weights
from service.topic_compare import compared_topic, topic_compare_answer

log = logging.getLogger(__name__)

NO_RELEVANT_PASSAGES = "no passage is relevant enough"
NOT_NAMED_PAPER_RETRIEVED = "no relevant passage comes from the paper the question names"
# Asked for a figure, a sentence stating one this close behind the last carried sentence takes its place
# (cosine plus weighted word share). Over the seen fact sets, the one such figure that answered stood 0.07
# behind; those that did not, 0.34 and more (docs/BENCHMARKS.md, session 35).
FIGURE_MARGIN = 0.15




# --- retrieval -------------------------------------------------------------------------------


def retrieve(library, query: str, filters: SearchFilter = ALL_PAPERS, options: AskOptions = DEFAULT_OPTIONS,
             preferred: Sequence[str] = ()) -> Retrieval:
    """The most relevant chunk of each of the best papers, `preferred` papers first; none if none is relevant."""
    hits = library.search(query, options.passages + 3, filters, options.mode)
    if not hits:
        return Retrieval(query, (), 0.0, 0.0)
    cosines = chunk_cosines(library, query, [hit.paper.id for hit in hits])
    weights = term_weights(library, query)
    candidates = []
    for hit in sorted(hits, key=lambda hit: hit.paper.id not in preferred):  # stable: search order otherwise
        chunk = best_chunk(hit)
        paper_cosine = max((c for cid, c in cosines.items() if cid.rsplit("#", 1)[0] == hit.paper.id), default=0.0)
        candidates.append((hit, chunk, paper_cosine, coverage(weights, hit.paper.title + " " + chunk.text)))
    chosen = [c for c in candidates if is_relevant(c[2], c[3], options)][: options.passages]
    passages = tuple(make_passage(number, hit, chunk, cosine, weights, options.sentences)
                     for number, (hit, chunk, cosine, _) in
                     enumerate(chosen, start=1))
    return Retrieval(query, passages, max(c[2] for c in candidates), max(c[3] for c in candidates))


def is_relevant(cosine: float, coverage: float, options: AskOptions) -> bool:
    """Close in meaning, or holding the query's rare words (short questions embed poorly: "What is WAU?")."""
    return cosine >= options.min_relevance or coverage >= options.min_coverage


def chunk_cosines(library, query: str, paper_ids: Sequence[str]) -> dict[str, float]:
    """Dense cosine of every chunk of these papers: RRF scores are ranks, with no absolute meaning."""
    vector = library.searcher.query_vector(query)
    return dict(library.vectors.query(vector, 20 * len(paper_ids), list(paper_ids)))


def best_chunk(hit: SearchHit) -> Chunk:
    """The chunk holding most of the hit's matching sentences (search order breaks ties)."""
    wanted = {sentence.index for sentence in hit.sentences}
    return max(hit.chunks, key=lambda c: sum(c.sent_start <= i < c.sent_end for i in wanted))


def make_passage(number: int, hit: SearchHit, chunk: Chunk, relevance: float,
                 weights: dict[str, float] | None = None, keep: int = 0) -> Passage:
    """The chunk's sentences, minus any that address the model (they must not be cited either); with
    `keep`, only the `keep` that hold most of the question's weighted words, in abstract order."""
    abstract = hit.paper.abstract
    spans = split_sentences(abstract)[chunk.sent_start : chunk.sent_end]
    sentences = tuple(
        SourceSentence(chunk.sent_start + offset, abstract[start:end])
        for offset, (start, end) in enumerate(spans)
        if not injected_sentences(abstract[start:end])
    )
    if len(sentences) < len(spans):
        log.warning("left %d instruction-like sentence(s) of %s out of the prompt", len(spans) - len(sentences),
                    hit.paper.id)
    if keep and len(sentences) > keep:
        ranked = sorted(sentences, key=lambda s: -coverage(weights or {}, s.text))[:keep]
        sentences = tuple(s for s in sentences if s in ranked)
    return Passage(number, hit.paper, chunk.id, sentences, round(relevance, 4))


def of_named_papers(passages: Sequence[Passage], named: Sequence[str]) -> tuple[Passage, ...]:
    """Only the passages of the papers the question names, renumbered; all of them when it names none.
    An answer from another paper doesn't answer what was asked (the small model gives one readily), so
    the others' sentences are prompt tokens that can only mislead; none left means no generation at all."""
    if not named:
        return tuple(passages)
    kept = [passage for passage in passages if passage.paper.id in named]
    return tuple(replace(passage, number=number) for number, passage in enumerate(kept, start=1))


def named_by_name(names: Sequence[tuple[str, Paper]]) -> list[tuple[str, Paper]]:
    """Of the question's (name, paper) pairs (`names_outright`), the papers it calls by a name they go by
    (`is_named_by`), one each. A word that only one abstract holds ("GPUs": MosaicBERT's) points at that
    paper but doesn't ask about it."""
    return [(name, paper) for name, paper in primary_names(names) if is_named_by(name, paper)]


def named_parts(library, question: str, named: Sequence[tuple[str, Paper]], filters: SearchFilter,
                options: AskOptions) -> list[NamedPart]:
    """Each named paper under its name, the question asked of it alone, and its passage for that."""
    names = [name for name, _ in named]
    return [NamedPart(name, paper, focused := question_about(question, name, names),
                      own_passage(library, focused, paper.id, filters, options, name)) for name, paper in named]


def own_passage(library, question: str, paper_id: str, filters: SearchFilter, options: AskOptions,
                name: str = "") -> Passage | None:
    """The paper's passage for the question, when that paper is retrieved for it. The question calls the
    paper by its name, so no relevance bar applies: a question about ENEL's model sizes embeds far from
    ENEL's abstract, and the claim checks stand between its passage and an answer it doesn't hold."""
    anything = replace(options, min_relevance=-1.0)
    found = retrieve(library, question, filters, anything, (paper_id,))
    passage = next((passage for passage in found.passages if passage.paper.id == paper_id), None)
    return with_best_sentences(library, question, passage, options.sentences, name) \
        if passage and options.sentences else passage


def with_best_sentences(library, question: str, passage: Passage, keep: int, name: str = "") -> Passage:
    """The passage holding the `keep` sentences of the paper's whole abstract closest to the question (its
    dense cosine plus its share of the question's weighted rare words, the words of the paper's name and
    title and of an opening clause that only says which paper left out unless nothing else is left), in
    abstract order, never a code link unless asked: the one chunk retrieval picked may lack the sentence
    that answers ("five … pre-training tasks" is in another chunk of LXMERT's abstract).
    The first sentence giving the paper's name is kept too when the title doesn't give it."""
    paper = passage.paper
    kept = library.sentence_vectors.of([paper])[paper.id]
    vector = np.asarray(library.searcher.query_vector(question), dtype=np.float32)
    premise, asked = which_paper_clause(question)  # "In the paper arguing that …, what …?": it says which paper
    own = content_stems(f"{name} {paper.title}") | (content_stems(premise) - content_stems(asked))
    every = term_weights(library, question)
    # "What is TextCraftor?" has only the name to go by: then the sentences that say it are the answer
    weights = {term: weight for term, weight in every.items() if term not in own} or every
    links = points_at_code(question)
    usable = [i for i, text in enumerate(kept.sentences)
              if (links or not points_at_code(text)) and not injected_sentences(text)]
    score = {i: float(kept.vectors[i] @ vector) + coverage(weights, kept.sentences[i]) for i in usable}
    chosen = _with_a_figure(question, score, kept.sentences, keep)
    if name and name not in paper.title:  # where the paper names itself: the model and the checks need it
        chosen |= set(next(([i] for i in usable if name in kept.sentences[i]), []))
    return replace(passage, sentences=tuple(SourceSentence(i, kept.sentences[i]) for i in sorted(chosen)))


def _with_a_figure(question: str, score: dict[int, float], sentences: Sequence[str], keep: int) -> set[int]:
    """The `keep` best sentences. Asked for a figure where none of them states one, a close runner-up stating
    one in digits takes the last place: "… adjusts the inference cost with desired inference latency speedup"
    was carried, not "… improves the inference latency of BERTbase by up to 4.8 times" (0.07 behind). A figure
    far behind is another figure ("how many forward passes" is answered by "one forward pass"), and "a single
    face image" no answer to "how many"."""
    ranked = sorted(score, key=lambda i: -score[i])
    chosen = ranked[:keep]
    if chosen and asks_figure(question) and not any(states_figure(sentences[i]) for i in chosen):
        close = [i for i in ranked[keep:] if score[i] >= score[chosen[-1]] - FIGURE_MARGIN]
        chosen[-1:] = next(([i] for i in close if states_number(sentences[i])), chosen[-1:])
    return set(chosen)


def within_budget(passages: Sequence[Passage], count_tokens: Callable[[str], int], budget: int) -> tuple[Passage, ...]:
    """The leading passages whose source blocks fit the token budget (the first always does)."""
    kept: list[Passage] = []
    used = 0
    for passage in passages:
        used += count_tokens(render_source(passage))
        if kept and used > budget:
            break
        kept.append(passage)
    return tuple(kept)


# --- answering ----------------------------------------------------------------------------


def ask_stream(library, generator: Generator, question: str, filters: SearchFilter = ALL_PAPERS,
               conversation: Conversation | None = None, options: AskOptions = DEFAULT_OPTIONS) -> Iterator[AskEvent]:
    """Sources, then the answer's pieces as they come, then the checked Answer; the question's kind
    decides how the answer is made (service.question_kinds)."""
    question = " ".join(question.split())
    if not question:
        raise ValueError("the question is empty")
    conversation = conversation if conversation is not None else Conversation()
    kind = classify(question, conversation.is_follow_up(question), generator).kind
    events = _answer_events(library, generator, question, kind, filters, conversation, options)
    for event in events:
        if isinstance(event, Answer):
            conversation.add(event.result)
        yield event


def _answer_events(library, generator: Generator, question: str, kind: str, filters: SearchFilter,
                   conversation: Conversation, options: AskOptions) -> Iterator[AskEvent]:
    if kind in (LIST, RECOMMEND, OVERVIEW):
        return list_answer(library, generator, question, kind, filters)
    if kind == COMPARE:
        # "Compare the speech papers": a set named by its topic, no paper by its name, takes the papers the topic
        # lists (a search for each part of the question would take one paper a part). Looking back ("A few papers
        # today deal with X. How do their solutions compare?") finds the same topic when the asking part has one.
        found = compared_topic(question, look_back=True)
        by_topic = found is not None and not names_outright(library, question, filters)
        if by_topic and compared_topic(question):
            return topic_compare_answer(library, generator, question, *found, filters)
        named = named_papers(library, question, filters)
        if len(named) >= MIN_PAPERS:
            return compare_answer(library, generator, question, named, library.outputs)
        if by_topic:  # the set named in what came before, when the parts name fewer than two papers
            return topic_compare_answer(library, generator, question, *found, filters)
    return fact_answer(library, generator, question, filters, conversation, options, kind)


def fact_answer(library, generator: Generator, question: str, filters: SearchFilter, conversation: Conversation,
                options: AskOptions, kind: str = FACT) -> Iterator[AskEvent]:
    """Retrieved passages, the model's answer over them, checked: a fact (or a follow-up) question."""
    names = names_outright(library, question, filters)
    ids = tuple(dict.fromkeys(paper.id for _, paper in names))
    query = conversation.standalone_query(question)
    called = named_by_name(names)  # the papers it calls by a name they go by
    retrieval = retrieve(library, query, filters, options, conversation.preferred_papers(question) or ids)
    if not retrieval.passages and kind == FACT and len(called) == 1:
        # the question calls one paper by its name: no relevance bar ("How big is ENEL in parameters?" embeds
        # far from ENEL's abstract); the claim checks stand between its passage and an answer it doesn't hold
        retrieval = retrieve(library, query, filters, replace(options, min_relevance=-1.0), (called[0][1].id,))
    relevant = bool(retrieval.passages)
    by_name = []
    if kind == FACT and relevant:  # and the papers it calls by what they are about, in question order
        by_name = sorted([*called, *described_papers(library, question, called, filters)],
                         key=lambda named: question.find(named[0]))
    if MIN_PAPERS <= len(by_name) <= options.passages:
        yield from paper_by_paper(library, generator, question, retrieval,
                                  named_parts(library, question, by_name, filters, options), options)
        return
    named = of_named_papers(retrieval.passages, ids)
    if options.sentences:  # each paper's best sentences, wherever in its abstract, not only its best chunk's
        name_of = {paper.id: name for name, paper in called}
        named = tuple(with_best_sentences(library, query, p, options.sentences, name_of.get(p.paper.id, ""))
                      for p in named)
    retrieval = replace(retrieval, passages=within_budget(named, generator.count_tokens, options.source_tokens))
    yield Sources(retrieval)
    if settled := settled_without_model(question, retrieval, relevant, kind):
        yield Answer(settled)
        return
    if options.quote == "only":
        yield from _quoted_answer(library, question, retrieval, kind)
        return
    result = yield from generated_answer(library, generator, question, retrieval, conversation.history(), options)
    yield Answer(replace(result, kind=kind))


def settled_without_model(question: str, retrieval: Retrieval, any_relevant: bool, kind: str) -> AskResult | None:
    """The abstention decided before any generation, if there is one: no passage relevant enough (out of
    scope), none from the paper the question names, or a measure asked for that no candidate names."""
    if not retrieval.passages:
        if any_relevant:
            return replace(abstention(question, retrieval, NOT_NAMED_PAPER_RETRIEVED), kind=kind)
        return replace(abstention(question, retrieval, NO_RELEVANT_PASSAGES), kind=OUT_OF_SCOPE)
    if unstated := unstated_measures(question, [passage.paper for passage in retrieval.passages]):
        return replace(measure_abstention(question, retrieval, unstated), kind=kind)
    return None


def _quoted_answer(library, question: str, retrieval: Retrieval, kind: str) -> Iterator[AskEvent]:
    result = quoted_answer(library, question, retrieval)
    if not result.abstained:
        yield Token(result.text)
    yield Answer(replace(result, kind=kind))


def ask(library, generator: Generator, question: str, filters: SearchFilter = ALL_PAPERS,
        conversation: Conversation | None = None, options: AskOptions = DEFAULT_OPTIONS) -> AskResult:
    """The final result of `ask_stream` (tokens dropped)."""
    for event in ask_stream(library, generator, question, filters, conversation, options):
        if isinstance(event, Answer):
            return event.result
    raise AssertionError("ask_stream ended without an Answer")  # pragma: no cover


# --- follow-ups ---------------------------------------------------------------------------

# Words that lean on an earlier turn: "does it…", "what about…", "the authors…".
_FOLLOW_UP = re.compile(
    r"^\s*(and|also|what about|how about|then|so)\b"
    r"|\b(it|its|it's|they|them|their|this|that|these|those|he|she|his|her)\b"
    r"|\bthe (paper|papers|model|method|approach|authors|work|system|framework|technique)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Turn:
    question: str
    query: str
    answer: str  # rendered answer without markers
    paper_ids: tuple[str, ...]  # papers the answer cited
    abstained: bool


@dataclass
class Conversation:
    """Earlier turns of a chat: follow-ups are made standalone for retrieval and see the last Q/A."""

    max_turns: int = 4
    history_chars: int = 500  # bounds the earlier answer in the prompt: the model's context is small
    key_terms: int = 8
    turns: list[Turn] = field(default_factory=list)

    def is_follow_up(self, question: str) -> bool:
        return bool(self.turns) and bool(_FOLLOW_UP.search(question))

    def standalone_query(self, question: str) -> str:
        """The question plus the previous question's key terms, when it leans on that turn."""
        if not self.is_follow_up(question):
            return question
        own = set(query_terms(question))
        extra = [term for term in query_terms(self.turns[-1].query) if term not in own][: self.key_terms]
        return f"{question} {' '.join(extra)}".strip()

    def preferred_papers(self, question: str) -> tuple[str, ...]:
        return self.turns[-1].paper_ids if self.is_follow_up(question) else ()

    def history(self) -> str:
        """The last answered turn, for the prompt ('' when there is none or it abstained)."""
        if not self.turns or self.turns[-1].abstained:
            return ""
        turn = self.turns[-1]
        answer = turn.answer if len(turn.answer) <= self.history_chars else turn.answer[: self.history_chars] + "…"
        return f"Earlier question: {neutralise(turn.question)}\nEarlier answer: {neutralise(answer)}\n\n"

    def add(self, result: AskResult) -> None:
        paper_ids = tuple(dict.fromkeys(citation.paper_id for citation in result.citations))
        answer = "" if result.abstained else strip_markers(result.text)
        self.turns.append(Turn(result.question, result.retrieval.query, answer, paper_ids, result.abstained))
        del self.turns[: -self.max_turns]
