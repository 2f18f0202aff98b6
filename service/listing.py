"""List, recommend and overview answers, assembled in code over the whole scope (the newest day by
default), never from a few retrieved passages.

Every paper in scope is judged on its own (`service/paper_judging.py`): how far it stands above the
other papers of the day on the topic decides the clear cases; for the borderline ones the model weighs
in with how much likelier each paper makes the question, read from its log-probabilities (without a
scoring model, a cosine line). Recommendations rank the papers that are not clearly off the topic. Each
listed paper carries one evidence sentence from its abstract, cited. When no paper qualifies, the
answer says so: that is an answer about the day, not an abstention, unless the question was only a topic's
name typed as a search ("RL for robot control?"), which then found nothing the papers cover.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from index.models import Paper
from index.text import STOPWORDS
from service.ask_records import Answer, AskEvent, AskResult, Retrieval, Sources, Token
from service.citations import Citation, Passage, SourceSentence
from service.engines.protocol import Generator
from service.paper_judging import MIN_COSINE, Judged, decide, evidence, judge_papers
from service.question_kinds import ASKS_SUGGESTIONS, OUT_OF_SCOPE, OVERVIEW, READING_VERBS, RECOMMEND, is_bare_topic
from service.search import ALL_PAPERS, SearchFilter

RECOMMEND_LIMIT = 3  # papers a recommendation ranks
OVERVIEW_LIMIT = 5
NO_PAPER_ON_TOPIC = "no paper of the scope is about the topic searched for"  # the reason a search abstains
# Frame words of a list/recommend question, cut to leave its topic ("which papers are about X today?").
_FRAME = re.compile(
    r"^(?:(?:(?:papers?|works?|studies) using|"
    r"what(?:'s|’s| is) out|which|what|are there|is there|any|list|show me|find|of|the|today'?s|today’s|these|new|recent|other(?= (?:papers?|works?|studies)\b)|"
    r"papers?|works?|studies|articles|preprints|publications|paper|one|should i read|would|could|can|might|"
    r"help me|i|read|recommend|do you|me|to|for|a|an|how many|are|is|about|on|in|that|which|what(?:'s|’s) new|"
    r"what is new|overview of|give me|an overview|worth reading|best|most relevant|useful|there|"
    # "is anyone working on X", "anything related to X": who asks, not what about
    r"anything|anyone|anybody|someone|somebody|something|working|doing|related to|with|does|do|did|"
    r"make use of|makes use of|"
    # "has anybody looked at X", "did anyone try X", "who's working on X", "I'm looking for papers on X"
    r"has|have|tried|try|looked at|look at|looking at|looking for|who(?:'s|’s| is| are)|i'?m|i’m|i am|"
    r"came out|today|where (?:you|one|i|we) can|"
    # "which papers evaluate on X": the reporting verb, not the topic ("evaluate on GLUE" embeds as evaluation)
    r"(?:evaluate|test)(?:s|d)? (?:(?:a|the|their|its) )?(?:(?:models?|methods?|approach(?:es)?|systems?) )?on|(?:report|run|show)s? (?:\w+ )?(?:results|experiments|numbers) on|"
    r"deals? with|experiments? (?:on|with)|(?:build|builds|built|based) (?:on|upon)|uses?)(?![\w'’])[\s,]*)+",
    re.IGNORECASE)
_TAIL = re.compile(r"\b(?:(?:out )?today|this week|these days|in (?:today's|these) papers)\b|"
                   # "… papers in today's batch?": where the papers are, not what about
                   r"(?:\s+papers?)?\s+(?:in|from|among) (?:today's|today’s|these|this|the day's|the day’s) "
                   r"(?:batch|lot|list|feed|set|selection|bunch|crop|haul)\b|"
                   r",?\s+(?:(?:and|or) )?(?:that|this) sort of thing\b|,?\s+and so on\b|"
                   r"\s+(?:papers?|studies)(?=(?:\s+(?:out\s+)?today)?\s*[?.!]*$)|[?.!]+$", re.IGNORECASE)  # "Channel attention papers?"
# A clause that only asks for a reading ("… . Which paper?", "— what should I read first?"): no topic in it.
_READ_REQUEST = re.compile(
    r"^(?:so )?(?:what(?:'s|’s| is)? the (?:best |first )?(?:paper|one) to read|"
    rf"(?:what|which(?: one| paper)?)(?: (?:should|would|could) (?:i|you) {READING_VERBS}| to read|"
    rf" (?:is|would be) the best read| do you recommend)?|{ASKS_SUGGESTIONS})(?: first)?$", re.IGNORECASE)


# What the question leaves out: "(translating written text, not speech)", "(leaving out video and 3D models)".
# Left in the topic, "not speech" would pull speech papers up: its words embed like any others.
# Only set apart by a bracket or a comma: "I'd rather not train a dual encoder" is part of the need.
_LEFT_OUT = re.compile(r"(?:,\s*|(?<=\())(?:but not|not|leaving out|excluding|except(?: for)?|other than)\s+"
                       r"(?:merely\s+|to\s+)?(?P<what>[^(),;.?!]+)", re.IGNORECASE)


# What the topic is set against ("a new dataset of their own, rather than only using existing ones"):
# not the topic, and not a reason to drop a paper either (it may do both).
# One opening the question ("Instead of X, I want Y") is the need itself, so only one after the topic goes.
_CONTRAST = re.compile(r"(?:,\s*|\s+)(?:rather than|instead of|as opposed to)\b[^(),;.?!]*", re.IGNORECASE)


@dataclass(frozen=True)
class ListedPaper:
    paper: Paper
    sentence_index: int
    sentence: str
    score: float
    decided_by: str  # "retrieval" or "model"


def topic_of(question: str) -> str:
    """The topic a list/recommend/overview question asks about, without its frame words, what it
    leaves out, or what it sets the topic against."""
    text = re.sub(r"\(\s*\)", "", _CONTRAST.sub("", _LEFT_OUT.sub("", " ".join(question.split()))))
    clauses = [c.strip(" ,;:") for c in re.split(r"(?<=[.?!;])\s+|\s+[—–]\s+|\s+-\s+", text)]
    asking = [c for c in clauses if c and not _READ_REQUEST.match(c.rstrip("?.! "))] or clauses
    topic = " ".join(_TAIL.sub("", _FRAME.sub("", c)).strip(" ,;:") for c in asking).strip()
    return topic or text


def left_out(question: str) -> list[str]:
    """What the question says to leave out, one term each ("video and 3D models" → "video", "3D models")."""
    found = []
    for match in _LEFT_OUT.finditer(" ".join(question.split())):
        found += [term.strip(" ?.!") for term in re.split(r"\s+(?:and|or)\s+|,\s*", match["what"]) if term.strip(" ?.!")]
    return found


def _left_out_by(paper: Paper, terms: Sequence[str]) -> bool:
    """Whether the paper's title names something the question leaves out (its abstract may mention
    anything): the term's first word that is not a stopword ("the video ones" → "video")."""
    heads = [next((w for w in term.split() if w.lower() not in STOPWORDS), "") for term in terms]
    return any(re.search(rf"(?<![\w-]){re.escape(head.rstrip('s'))}", paper.title, re.IGNORECASE)
               for head in heads if head)


def default_scope(library, filters: SearchFilter = ALL_PAPERS) -> SearchFilter:
    """The filters as given, or the newest feed day in the library when no date was given."""
    if filters.days:
        return filters
    newest = library.catalog.newest_feed_day(filters.sources)
    return SearchFilter((newest, newest), filters.sources) if newest else filters


def listed_papers(library, generator: Generator | None, kind: str, question: str, topic: str,
                  filters: SearchFilter) -> Iterator[ListedPaper]:
    """The papers of the scope the question asks for: clear ones first, then borderline ones as the
    model decides them; recommend and overview rank the papers not clearly off the topic instead."""
    scope = default_scope(library, filters)
    excluded = left_out(question)
    judged = [replace(j, verdict="no") if _left_out_by(j.paper, excluded) else j
              for j in judge_papers(library, topic, library.papers(scope.days, scope.sources))]
    limit = {RECOMMEND: RECOMMEND_LIMIT, OVERVIEW: OVERVIEW_LIMIT}.get(kind)
    if limit is not None:  # ranked: the best is listed even when no paper stands out
        ranked = [j for rank, j in enumerate(judged) if j.verdict != "no" or (rank == 0 and j.cosine >= MIN_COSINE)]
        found = evidence(library, topic, [j.paper for j in ranked[:limit]])
        yield from (_listed(j, found) for j in ranked[:limit])
        return
    clear = [j for j in judged if j.verdict == "yes"]
    borderline = [j for j in judged if j.verdict == "maybe"]
    found = evidence(library, topic, [j.paper for j in clear + borderline])
    yield from (_listed(j, found) for j in clear)  # shown at once, before any judgement
    decided = decide(borderline, question, generator, lambda pid: [text for _, text in found.get(pid, [])])
    yield from (_listed(j, found) for j in decided if j.included)


def _listed(judged: Judged, found: dict) -> ListedPaper:
    index, sentence = (found.get(judged.paper.id) or [(0, judged.paper.title)])[0]
    by = "model" if judged.verdict.startswith("model") else "retrieval"
    return ListedPaper(judged.paper, index, sentence, round(judged.relevance, 4), by)


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
    result = listing_result(question, kind, topic, listed, scope, _lead(kind, subject, scope), _none(subject, scope))
    if not listed:
        yield Token(result.text)
        if is_bare_topic(question):
            # a search that found nothing: the papers don't cover it ("Best pizza in Naples?"), where "Which papers
            # are about X?" is answered "none"
            result = replace(result, abstained=True, reason=NO_PAPER_ON_TOPIC, kind=OUT_OF_SCOPE)
    yield Answer(result)


def listing_result(question: str, kind: str, topic: str, listed: Sequence[ListedPaper], scope: SearchFilter,
                   lead: str, none: str) -> AskResult:
    """The answer over the listed papers: the lead and a cited line each, or the none-text when none is."""
    text = lead + "\n".join(_line(kind, n, item) for n, item in enumerate(listed, 1)) if listed else none
    citations = tuple(listing_citation(n, item) for n, item in enumerate(listed, 1))
    passages = tuple(Passage(n, item.paper, "", (SourceSentence(item.sentence_index, item.sentence),), item.score)
                     for n, item in enumerate(listed, 1))
    notes = tuple(f"[{n}] judged by the model (borderline by retrieval)" for n, item in enumerate(listed, 1)
                  if item.decided_by == "model")
    retrieval = Retrieval(topic, passages, max((p.relevance for p in passages), default=0.0))
    return AskResult(question, text, citations, False, "", "", retrieval, notes, kind=kind)


def _subject(question: str, topic: str) -> str:
    """"about <topic>" when the question names its topic that way, else "for “<question>”"."""
    named = re.search(rf"\b(?:about|on|regarding|concerning|in)\s+{re.escape(topic.split()[0])}", question)
    return f"about {topic}" if named else f"for “{' '.join(question.split())}”"


def _none(subject: str, scope: SearchFilter) -> str:
    """The honest answer when no paper of the scope qualifies."""
    where = scope_name(scope)
    if subject.startswith("about "):
        return f"None of the papers of {where} is {subject}."
    return f"None of the papers of {where} fits {subject.removeprefix('for ')}."


def _lead(kind: str, subject: str, scope: SearchFilter) -> str:
    where = scope_name(scope)
    if kind == RECOMMEND:
        # "about X" reads "on X" here; a quoted question keeps its own words ("if I care about …")
        on_subject = "on " + subject.removeprefix("about ") if subject.startswith("about ") else subject
        return f"To read first {on_subject} ({where}):\n"
    if kind == OVERVIEW:
        return f"The papers of {where} closest to what is new {subject}:\n"
    return f"Papers of {where} {subject}:\n"


def _line(kind: str, number: int, item: ListedPaper) -> str:
    why = "why: " if kind == RECOMMEND else ""
    return f"{number}. {item.paper.title} [{number}] — {why}“{item.sentence}”"


def scope_name(scope: SearchFilter) -> str:
    if not scope.days:
        return "the library"
    start, end = scope.days
    return start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"
