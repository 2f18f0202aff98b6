"""A fact question that names two or more papers ("Which datasets do neU-Net and WAU report results
on?") is answered one paper at a time. Over the papers' passages together the 0.5B model gives one
paper's fact to the other, or says "both" of a fact only one states; over one paper's passage it
extracts well. So each named paper gets its own call on its own passage, checked as any fact answer,
and the parts are put together in code: one line per paper, under the paper's name (`label_for`),
citing that paper only. A paper whose abstract doesn't answer says so in its line; the other lines
stand. Each paper is asked the question about itself alone (`question_about`): with the other names in
it, the model answers of them too.
"""

from __future__ import annotations

import re
from collections.abc import Generator as Steps
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from index.models import Paper
from index.text import as_typed, query_terms
from service.answer_scope import measure_abstention
from service.ask_records import ABSTENTION, Answer, AskEvent, AskOptions, AskResult, Retrieval, Sources, Token
from service.asked_measure import unstated_measures
from service.citations import Passage
from service.compare import short_names
from service.engines.protocol import Generator
from service.fact_generation import abstention, generated_answer, quoted_answer, renumbered
from service.listing import default_scope
from service.question_kinds import FACT
from service.search import SearchFilter, coverage, term_weights

NOT_ANSWERED = "its abstract doesn't answer this."
NOT_RETRIEVED = "no passage of this paper is relevant to the question"
_OPEN_MARKER = re.compile(r"\[[\d\s,;]*$")  # a marker the stream has begun but not closed
# ", and how much does …": a conjunction starting a new question about something else
_CLAUSE_BREAK = re.compile(r"[,;]?\s+(?:and|while)\s+(?=(?:how|what|which|when|where|who|why|does|do|did|is|are|was)\b)"
                           r"|[;?]\s+(?=\w)", re.IGNORECASE)
_INTRODUCES = r"\b(?:introduce|propose|present|call|called|name|named|dub|dubbed|term|termed)\b"
_LIST_BREAK = re.compile(r",\s+(?:and\s+)?")
_CONJUNCT_BREAK = re.compile(r",?\s+(?:and|or)\s+(?=(?:of|for|in|on|by|with|from|at|to|about)\s)")
# a clause asking its own question, perhaps after a preposition ("on which benchmarks …")
_QUESTION_WORD = re.compile(r"(?:\w+\s+){0,3}(?:how|what|which|when|where|who|why|does|do|did|is|are|was|were|can)\b",
                            re.IGNORECASE)
_SEVERAL = re.compile(r"\b(?:both|each of|all of)\s+(?=\w)", re.IGNORECASE)
# a paper called by what it is about: "the mutual encoder-decoder inpainting method", "the cross-encoder
# nearest neighbor search paper" (no function word inside: "the encoder do in the … paper" is not one)
_FUNCTION = r"(?:the|a|an|of|in|on|at|for|to|by|with|from|and|or|do|does|did|is|are|was|were|what|which|how)"
_DESCRIBED = re.compile(rf"\bthe\s+(?P<about>(?:(?!{_FUNCTION}\b)[\w'’+-]+\s+){{1,8}}?)"
                        r"(?:paper|study|work|analysis|method|approach|framework|model|system)\b", re.IGNORECASE)
# words that tell no paper apart: "the proposed model", "the new method"
_UNDESCRIPTIVE = frozenset({"proposed", "new", "same", "other", "first", "second", "former", "latter", "above",
                            "following", "this", "that", "their", "its", "two", "three", "both", "each", "whole"})
# a description must hold this idf-weighted share of its words in the paper found for it
MIN_DESCRIBED_COVERAGE = 0.5


@dataclass(frozen=True)
class NamedPart:
    name: str  # as the question names the paper
    paper: Paper
    question: str  # the question about this paper alone (`question_about`)
    passage: Passage | None  # its passage for that question; None when none is relevant


def question_about(question: str, name: str, names: Sequence[str]) -> str:
    """The question asked of one named paper. Asked with the other names in it, the model answers of
    them too, and such sentences are removed as unsupported. A question of one clause per paper keeps
    this paper's clause ("How long does MosaicBERT take to pretrain, and how much does …?"); otherwise
    the other names become this one, repeats and "both" go ("Which datasets do both neU-Net and WAU
    use?" → "Which datasets do WAU use?")."""
    if own := _own_clause(question, name, names) or _own_conjunct(question, name, names):
        return own
    for other in names:
        if other:
            # its spelled-out form goes with it: "WAU (Window Attention Upsample)"
            question = re.sub(rf"(?<![\w-]){re.escape(other)}(?![\w-])(?:\s*\([^)]*\))?", name, question)
    own = rf"(?:(?:the|an?)\s+)?{re.escape(name)}"
    question = re.sub(rf"{own}(?:(?:\s*,\s*(?:and\s+)?|\s+(?:and|or|&|vs\.?|versus)\s+){own})+(?:\s+each\b)?",
                      lambda match: match.group(0)[: match.group(0).index(name) + len(name)], question)
    return _SEVERAL.sub("", question)


def _own_clause(question: str, name: str, names: Sequence[str]) -> str:
    """This paper's clause, when each clause of the question names exactly one paper ("" otherwise); a
    clause that continues a list ("…, M2-Encoder report in training speed") gets the first one's head."""
    clauses = _clauses(question, _CLAUSE_BREAK)
    if len(clauses) < 2:  # "A does X, B does Y, and C does Z": a list of clauses, not of names
        listed = _clauses(question, _LIST_BREAK)
        clauses = listed if all(len(clause.split()) >= 4 for clause in listed) else clauses
    named_in = [[n for n in names if n and n in clause] for clause in clauses]
    if len(clauses) < 2 or any(len(found) != 1 for found in named_in):
        return ""
    head = clauses[0][: clauses[0].index(named_in[0][0])]
    own = [clause if index == 0 or _QUESTION_WORD.match(clause) else head + clause
           for index, (clause, found) in enumerate(zip(clauses, named_in, strict=True)) if found == [name]]
    return " and ".join(own)[:1].upper() + " and ".join(own)[1:] + "?" if own else ""


def _own_conjunct(question: str, name: str, names: Sequence[str]) -> str:
    """This paper's phrase, when the question joins one prepositional phrase per paper ("… of the ENEL
    model and of the largest M2-Encoder model?", "… take for MosaicBERT and for LXMERT?"), the head
    kept up to where the first phrase starts ("" otherwise)."""
    parts = _clauses(question, _CONJUNCT_BREAK)
    named_in = [[n for n in names if n and n in part] for part in parts]
    if len(parts) < 2 or any(len(found) != 1 for found in named_in) or [name] not in named_in:
        return ""
    index = named_in.index([name])
    if index > 0:
        opening = parts[index].split()[0]
        head_end = parts[0].rfind(f" {opening} ", 0, parts[0].index(named_in[0][0]))
        if head_end < 0:
            return ""
        parts[index] = parts[0][: head_end + 1] + parts[index]
    return parts[index] + "?"


def _clauses(question: str, breaks: re.Pattern) -> list[str]:
    return [clause.strip(" ,;?") for clause in breaks.split(question) if clause.strip(" ,;?")]


def primary_names(names: Sequence[tuple[str, Paper]]) -> list[tuple[str, Paper]]:
    """One (name, paper) per paper, in question order: the first of its names that the paper uses as a
    name (`is_named_by`), else its first; "ImageNet" identifies M2-Encoder's paper, but isn't its name."""
    chosen: dict[str, tuple[str, Paper]] = {}
    for name, paper in names:
        if paper.id not in chosen or (is_named_by(name, paper) and not is_named_by(*chosen[paper.id])):
            chosen[paper.id] = (name, paper)
    return list(chosen.values())


def described_papers(library, question: str, named: Sequence[tuple[str, Paper]],
                     filters: SearchFilter) -> list[tuple[str, Paper]]:
    """(the description, the paper) for each paper the question calls by what it is about, not by a
    name ("How do the mutual encoder-decoder inpainting method and ParaTransCNN pass features …?"):
    the scope's best paper for the description, when it holds most of the description's words and is
    not already named. A description with fewer than two telling words ("the proposed model") or one
    holding a name is skipped."""
    scope, taken, found = default_scope(library, filters), {paper.id for _, paper in named}, []
    for match in _DESCRIBED.finditer(question):
        about = match["about"]
        if (len([word for word in query_terms(about) if word not in _UNDESCRIPTIVE]) < 2
                or any(name and name in match[0] for name, _ in named)):
            continue
        hits = library.search(about, 1, scope)
        if not hits or hits[0].paper.id in taken:
            continue
        paper = hits[0].paper
        if coverage(term_weights(library, about), f"{paper.title} {paper.abstract}") >= MIN_DESCRIBED_COVERAGE:
            taken.add(paper.id)
            found.append((match[0], paper))
    return found


def is_named_by(name: str, paper: Paper) -> bool:
    """Whether the paper uses `name` as its name: in its title, where it introduces it, or more than once."""
    word = rf"(?<![\w-]){re.escape(name)}(?![\w-])"
    text = as_typed(f"{paper.title} {paper.abstract}")
    return bool(re.search(word, paper.title) or re.search(rf"{_INTRODUCES}[^.]{{0,60}}?{word}", text, re.IGNORECASE)
                or len(re.findall(word, text)) >= 2)


def label_for(name: str, paper: Paper) -> str:
    """What a line is headed with: the question's name when the paper uses it as a name, else the
    title's short name ("MosaicBERT: …" gives MosaicBERT, else its first words). A word that merely
    occurs in one paper ("CPU" in JPQ's abstract) identifies it but doesn't name it."""
    return name if name and is_named_by(name, paper) else short_names([paper.title])[0]


def paper_by_paper(library, generator: Generator, question: str, retrieval: Retrieval, parts: Sequence[NamedPart],
                   options: AskOptions) -> Iterator[AskEvent]:
    """Sources (the named papers' passages, in the question's order), then each paper's line as it is
    written, then the assembled Answer."""
    found = [part.passage for part in parts if part.passage]
    numbers = {passage.paper.id: number for number, passage in enumerate(found, start=1)}
    retrieval = replace(retrieval, passages=tuple(replace(p, number=numbers[p.paper.id]) for p in found))
    yield Sources(retrieval)
    lines: list[tuple[str, AskResult]] = []
    for position, part in enumerate(parts):
        label = f"{label_for(part.name, part.paper)}: "
        yield Token(("\n" if position else "") + label)
        if part.passage:
            alone = replace(retrieval, passages=(replace(part.passage, number=1),))
            result = yield from _one_paper(library, generator, part.question, alone, numbers[part.paper.id], options)
        else:
            result = abstention(part.question, retrieval, NOT_RETRIEVED)
        if result.abstained:
            yield Token(NOT_ANSWERED)
        lines.append((label, result))
    yield Answer(assembled(question, retrieval, lines))


def _one_paper(library, generator: Generator, question: str, alone: Retrieval, number: int,
               options: AskOptions) -> Steps[Token, None, AskResult]:
    """The checked answer over one paper's passage (numbered 1 for the model), renumbered to `number`."""
    if unstated := unstated_measures(question, [alone.passages[0].paper]):
        return measure_abstention(question, alone, unstated)
    if options.quote == "only":
        result = quoted_answer(library, question, alone)
        if not result.abstained:
            yield Token(renumbered(result, number).text)
    else:
        result = yield from _shifted(generated_answer(library, generator, question, alone, "", options), number)
    return renumbered(result, number)


def _shifted(steps: Steps[Token, None, AskResult], number: int) -> Steps[Token, None, AskResult]:
    """The steps' tokens with the marker [1] shown as [number]; returns what the steps return."""
    held = ""
    while True:
        try:
            token = next(steps)
        except StopIteration as stop:
            if held:
                yield Token(_marker_moved(held, number))
            return stop.value
        held += token.text
        if opened := _OPEN_MARKER.search(held):  # wait for the marker's end before showing it
            shown, held = held[: opened.start()], held[opened.start():]
        else:
            shown, held = held, ""
        if shown:
            yield Token(_marker_moved(shown, number))


def _marker_moved(text: str, number: int) -> str:
    return text.replace("[1]", f"[{number}]")


def assembled(question: str, retrieval: Retrieval, parts: Sequence[tuple[str, AskResult]]) -> AskResult:
    """One line per paper; an abstention only when no paper's part answered."""
    notes = tuple(f"{label}{note}" for label, part in parts for note in _part_notes(part))
    if all(part.abstained for _, part in parts):
        reasons = "; ".join(dict.fromkeys(part.reason for _, part in parts))
        return AskResult(question, ABSTENTION, (), True, reasons, _raw(parts), retrieval, notes, FACT)
    text = "\n".join(label + (NOT_ANSWERED if part.abstained else part.text) for label, part in parts)
    citations = tuple(citation for _, part in parts for citation in part.citations)
    return AskResult(question, text, citations, False, "", _raw(parts), retrieval, notes, FACT)


def _part_notes(part: AskResult) -> tuple[str, ...]:
    return (*part.notes, part.reason) if part.abstained and part.reason else part.notes


def _raw(parts: Sequence[tuple[str, AskResult]]) -> str:
    return "\n".join(label + part.raw_answer for label, part in parts if part.raw_answer)
