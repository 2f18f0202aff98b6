"""Compare 2–8 papers: problem | method | data | key result, each cell traced to an abstract sentence.

The 0.5B model can't write a comparison table reliably, so it only fills four short lines per paper
(batched, cached, validated); code checks every phrase against the abstract, swaps unsupported ones
for extractive text, assembles the table, and vets the model's short similarities/differences text.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, TypeAdapter, ValidationError

from index.models import Paper
from index.text import sentences
from service.cache import OutputCache, cache_key
from service.citations import distinctive_tokens, figures_unfit, missing_from
from service.compare_cells import (
    MAX_PHRASE_WORDS,
    PHRASE_CHARS,
    Cell,
    borrowed_words,
    content_words,
    trace_cell,
)
from service.compare_overlap import code_summary, join_names
from service.engines.protocol import Generator, writes_comparisons
from service.guard import neutralise, paper_block, strip_injections
from service.prompts import load_prompt
from service.search import SearchFilter

log = logging.getLogger(__name__)

FIELDS = ("problem", "method", "data", "result")
HEADERS = {"problem": "Problem", "method": "Method", "data": "Data", "result": "Key result"}
MIN_PAPERS, MAX_PAPERS = 2, 8
EXTRACT_TOKENS = 100  # four 15-word lines; also caps the repetition loops the small model falls into
# Every key present, strings bounded: the constrained reply always parses and always fits the token cap.
EXTRACTION_SCHEMA = {
    "type": "object",
    "properties": {name: {"type": "string", "minLength": 1, "maxLength": PHRASE_CHARS} for name in FIELDS},
    "required": list(FIELDS),
    "additionalProperties": False,
}
EXTRACT_JSON_TOKENS = len(FIELDS) * (PHRASE_CHARS + 8) + 16  # a token is at least one character
SUMMARY_TOKENS = 120  # 2–4 sentences
MAX_REPEATS = 3  # a word this often in one phrase: the model looped ("TextCraftor, TextCraftor, …")
STRICT_REMINDER = ("Reply with only the four lines Problem:, Method:, Data:, Result:, each under 15 words, "
                   "with facts from this paper's abstract only, not from the example.")
_LABELS = {"problem": "problem", "method": "method", "approach": "method", "data": "data", "dataset": "data",
           "datasets": "data", "benchmarks": "data", "data/benchmarks": "data", "result": "result",
           "results": "result", "key result": "result", "main result": "result"}
_LINE = re.compile(r"^[\s>*#\-\d.)]*(?P<label>[A-Za-z][A-Za-z/ ]{0,20}?)\s*\**\s*:\s*\**\s*(?P<value>.*)$")
_TEMPLATE = re.compile(r"the problem the paper tackles|what the authors propose or do|the datasets, benchmarks or"
                       r"|the main result, or|, or \"?not stated|<|>", re.IGNORECASE)
_LETTER_REF = re.compile(r"\[([A-Z])\]")
_CLAUSE_BREAK = re.compile(r"\b(?:while|whereas|but|although|unlike)\b|;|, and (?=\[[A-Z]\])", re.IGNORECASE)
_ALL_PAPERS = re.compile(r"\b(all|each of the|every one of the) (two |three |four |five |six |seven |eight )?papers\b"
                         r"|\b(each|every) paper\b", re.IGNORECASE)
# Words saying a clause holds for several papers ("Both methods aim to …"; not "both speed and accuracy").
_JOINT = re.compile(r"^\W*both\b|\b(?:both (?:of them|papers|methods|models|approaches|works|studies|frameworks)|"
                    r"(?:they|these|which) both|similar(?:ly)?|likewise|in common|alike)\b", re.IGNORECASE)
_PAPER_LETTER = re.compile(r"\b[Pp]aper ([A-Z])\b")
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
_ORDINAL = re.compile(rf"\b(?:the )?({'|'.join(ORDINALS)}) paper\b", re.IGNORECASE)
_NAME_LIKE = re.compile(r"\b[A-Za-z]*(?:[A-Z][A-Za-z]*[A-Z0-9]|[a-z][A-Z])[A-Za-z0-9\-]*")


def _short_phrase(text: str) -> str:
    if len(text.split()) > MAX_PHRASE_WORDS:
        raise ValueError(f"longer than {MAX_PHRASE_WORDS} words")
    if _TEMPLATE.search(text):
        raise ValueError("copies the prompt's template")
    words = [word for word in re.findall(r"[a-z0-9]{4,}", text.lower())]
    if any(words.count(word) >= MAX_REPEATS for word in set(words)):
        raise ValueError("repeats itself (the small model's loop)")
    return text


Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=240),
                   AfterValidator(_short_phrase)]
_PHRASE = TypeAdapter(Phrase)


class ExtractionReply(BaseModel):
    """The model's four lines, as parsed: all four fields, nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    problem: Phrase
    method: Phrase
    data: Phrase
    result: Phrase


@dataclass(frozen=True)
class Extraction:
    """What the model said about one paper: a phrase per field (None where it gave nothing usable)."""

    paper_id: str
    phrases: tuple[str | None, ...]  # in FIELDS order
    attempts: int
    valid: bool  # the whole reply passed validation (on the first or the retry attempt)


@dataclass(frozen=True)
class Row:
    paper: Paper
    letter: str  # [A], [B], … in the table and the summary
    name: str  # short name, e.g. "MosaicBERT"
    cells: tuple[Cell, ...]  # in FIELDS order

    def cell(self, field: str) -> Cell:
        return self.cells[FIELDS.index(field)]


@dataclass(frozen=True)
class ComparisonTable:
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Comparison:
    table: ComparisonTable
    summary: str
    summary_origin: str  # "model" (checked) or "code" (the model's text failed the check, or it wasn't asked)


# --- choosing papers ----------------------------------------------------------------------------------


def find_papers(library, ids: Sequence[str] = (), query: str | None = None, k: int = 4,
                filters: SearchFilter | None = None) -> list[Paper]:
    """The papers named by id (in order), or the top `k` papers for a query."""
    if bool(ids) == bool(query):
        raise ValueError("compare takes paper ids or a query, not both or neither")
    if query:
        papers = [hit.paper for hit in library.search(query, k, filters or SearchFilter())]
    else:
        missing = [pid for pid in ids if library.paper(pid) is None]
        if missing:
            raise ValueError(f"unknown paper id(s): {', '.join(missing)}")
        papers = [library.paper(pid) for pid in dict.fromkeys(ids)]
    if not MIN_PAPERS <= len(papers) <= MAX_PAPERS:
        raise ValueError(f"compare needs {MIN_PAPERS}–{MAX_PAPERS} papers, got {len(papers)}")
    return papers


# --- extraction -------------------------------------------------------------------------------------


def parse_reply(text: str) -> dict[str, str]:
    """`Label: value` lines to {field: value}; unknown labels are kept so validation rejects them."""
    found: dict[str, str] = {}
    last = None
    for line in text.strip().splitlines():
        match = _LINE.match(line)
        if match:
            label = match.group("label").strip().lower()
            last = _LABELS.get(label, label)
            found.setdefault(last, match.group("value").strip().strip("*\"'“”").rstrip("."))
        elif line.strip() and last in found:  # a wrapped line continues the previous value
            found[last] += " " + line.strip()
    return found


def validate_reply(fields: dict[str, str]) -> tuple[tuple[str | None, ...], bool]:
    """Phrases per field and whether the whole reply is valid; on failure keep the fields that pass alone."""
    try:
        reply = ExtractionReply.model_validate(fields)
        return tuple(getattr(reply, name) for name in FIELDS), True
    except ValidationError:
        return tuple(_valid_phrase(fields.get(name)) for name in FIELDS), False


def _valid_phrase(value: str | None) -> str | None:
    try:
        return _PHRASE.validate_python(value) if value is not None else None
    except ValidationError:
        return None


def extract(papers: Sequence[Paper], generator: Generator, cache: OutputCache,
            refresh: bool = False) -> list[Extraction]:
    """One Extraction per paper: cached, else a batched generation, a stricter retry for bad replies."""
    prompt = _extract_prompt(generator)
    keys = {p.id: cache_key(p.id, p.abstract_hash, generator.name, prompt.key) for p in papers}
    done = {} if refresh else {p.id: hit for p in papers if (hit := _cached(cache, keys[p.id], p.id))}
    todo = [p for p in papers if p.id not in done]
    first = _ask(generator, todo, reminder="")
    retry = [p for p, (_, valid) in zip(todo, first, strict=True) if not valid]
    second = dict(zip([p.id for p in retry], _ask(generator, retry, reminder=STRICT_REMINDER), strict=True))
    for paper, (phrases, valid) in zip(todo, first, strict=True):
        if paper.id in second:
            phrases, valid = _better(second[paper.id], (phrases, valid))
        done[paper.id] = Extraction(paper.id, phrases, 2 if paper.id in second else 1, valid)
        cache.put("extract", keys[paper.id], json.dumps(
            {"phrases": list(phrases), "attempts": done[paper.id].attempts, "valid": valid}))
    return [done[p.id] for p in papers]


def _ask(generator: Generator, papers: Sequence[Paper], reminder: str) -> list[tuple[tuple, bool]]:
    """Each paper's phrases: decoded under a JSON schema where the generator can (a reply always
    parses), else four `Label: value` lines parsed in code."""
    if not papers:
        return []
    generate_json = getattr(generator, "generate_json", None)
    prompt = _extract_prompt(generator)
    batch = [prompt.render(paper=paper_block(p.title, p.abstract, where=p.id), reminder=reminder) for p in papers]
    if generate_json is not None:
        replies = generate_json(batch, EXTRACTION_SCHEMA, max_new_tokens=EXTRACT_JSON_TOKENS)
        return [validate_reply({name: reply[name].strip() for name in FIELDS} if reply else {}) for reply in replies]
    replies = generator.generate(batch, max_new_tokens=EXTRACT_TOKENS, stop=["\n\n\n", "</paper>"])
    return [validate_reply(parse_reply(reply)) for reply in replies]


def _extract_prompt(generator: Generator):
    return load_prompt("extract_json" if hasattr(generator, "generate_json") else "extract")


def _better(retry: tuple[tuple, bool], first: tuple[tuple, bool]) -> tuple[tuple, bool]:
    """The valid attempt, else the one with more usable fields (per-field fallback fills the rest)."""
    def usable(attempt):
        return attempt[1], sum(phrase is not None for phrase in attempt[0])
    return retry if usable(retry) > usable(first) else first


def _cached(cache: OutputCache, key: str, paper_id: str) -> Extraction | None:
    raw = cache.get("extract", key)
    if raw is None:
        return None
    data = json.loads(raw)
    return Extraction(paper_id, tuple(data["phrases"]), data["attempts"], data["valid"])


def build_row(paper: Paper, extraction: Extraction, letter: str, name: str) -> Row:
    cells: list[Cell] = []
    taken: set[int] = set()  # extractive fallbacks prefer sentences no other cell of the row shows whole
    for field, phrase in zip(FIELDS, extraction.phrases, strict=True):
        if phrase and any(_same_words(phrase, cell.text) for cell in cells if cell.origin == "model"):
            phrase = None  # the small model pads fields by repeating one; a repeat answers nothing
        cell = trace_cell(field, phrase, paper.abstract, taken, paper.title)
        cells.append(cell)
        if cell.origin == "extractive":
            taken.add(cell.sentence_index)
    return Row(paper, letter, name, tuple(cells))


def _same_words(one: str, other: str) -> bool:
    a, b = content_words(one), content_words(other)
    return bool(a and b) and len(a & b) / len(a | b) >= 0.8


def short_names(titles: Sequence[str]) -> list[str]:
    """'MosaicBERT: A Bidirectional …' -> 'MosaicBERT'; otherwise the first four title words; unique."""
    names = []
    for title in titles:
        head = title.split(":", 1)[0].strip()
        words = title.split()
        name = head if ":" in title and len(head.split()) <= 3 else " ".join(words[:4]) + ("…" if len(words) > 4 else "")
        names.append(name if name not in names else f"{name} ({len(names) + 1})")
    return names


def build_table(papers: Sequence[Paper], generator: Generator, cache: OutputCache,
                refresh: bool = False) -> ComparisonTable:
    extractions = extract(papers, generator, cache, refresh)
    names = short_names([p.title for p in papers])
    letters = [chr(ord("A") + i) for i in range(len(papers))]
    return ComparisonTable(tuple(map(build_row, papers, extractions, letters, names)))


# --- similarities and differences --------------------------------------------------------------------


def compare_papers(papers: Sequence[Paper], generator: Generator, cache: OutputCache,
                   refresh: bool = False) -> Comparison:
    """The whole comparison: the traced table, then a checked summary written from its rows."""
    table = build_table(papers, generator, cache, refresh)
    summary, origin = summarise_table(table, generator, cache, refresh)
    return Comparison(table, summary, origin)


def summarise_table(table: ComparisonTable, generator: Generator, cache: OutputCache,
                    refresh: bool = False) -> tuple[str, str]:
    """2–4 sentences from the validated rows (short input); the code-written summary if they fail the check,
    or without asking a model whose comparisons fail it (nearly) always."""
    if not writes_comparisons(generator):
        return code_summary(table), "code"
    prompt = load_prompt("compare_summary")
    rows_text = "\n".join(_row_block(row) for row in table.rows)
    key = cache_key(rows_text, generator.name, prompt.key)
    raw = None if refresh else cache.get("compare_summary", key)
    if raw is None:
        letters = join_names([f"[{row.letter}]" for row in table.rows])
        raw = generator.generate([prompt.render(papers=rows_text, letters=letters)], max_new_tokens=SUMMARY_TOKENS,
                                 stop=["\n\n", "<paper>"])[0]
        cache.put("compare_summary", key, raw)
    checked = check_summary(raw, table)
    if not checked:
        log.info("summary failed the check, using the code-written one: %r", raw)
        return code_summary(table), "code"
    return checked, "model"


def _row_block(row: Row) -> str:
    lines = [f"[{row.letter}] {row.name}"] + [f"{HEADERS[f]}: {row.cell(f).text}" for f in FIELDS]
    return "<paper>\n" + "\n".join(neutralise(strip_injections(line, row.paper.id)) for line in lines) + "\n</paper>"


def check_summary(text: str, table: ComparisonTable) -> str:
    """The sentences about named compared papers that mention nothing absent from the table; '' if < 2 remain."""
    letters = {row.letter for row in table.rows}
    known = " ".join(_row_block(row) + " " + row.paper.title for row in table.rows).lower()
    kept = []
    for sentence in sentences(normalise_references(" ".join(text.split()))):
        if not sentence.endswith((".", "!", "?")):
            continue  # cut off by the token cap
        refs = set(_LETTER_REF.findall(sentence))
        names = _NAME_LIKE.findall(_LETTER_REF.sub(" ", sentence))
        # A sentence naming no paper ("Both papers …" of three) can't be traced to rows: dropped.
        about = refs or _ALL_PAPERS.search(sentence) or any(_names_row(sentence, row) for row in table.rows)
        if about and refs <= letters and all(name.lower() in known for name in names) and \
                _attributed_right(sentence, table):
            kept.append(sentence)
    kept = kept[:4]
    named = {row.letter for row in table.rows for sentence in kept if _names_row(sentence, row)}
    return " ".join(kept) if len(kept) >= 2 and (len(named) >= 2 or _ALL_PAPERS.search(" ".join(kept))) else ""


def _attributed_right(sentence: str, table: ComparisonTable) -> bool:
    """Each clause says of each paper it is about only what that paper says: every number and name occurs
    in it ("[A] and [B] both use WAU" fails when only [A]'s abstract has WAU; "[A] uses X, while [B] uses
    Y" is two clauses), no word comes from another paper's cells instead, a clause on several papers
    ("Both methods …") names several, and its figures and counts are what that paper gives for what the
    clause says."""
    rows = {row.letter: row for row in table.rows}
    refs = set(_LETTER_REF.findall(sentence))
    for clause in _CLAUSE_BREAK.split(sentence):
        about = [rows[letter] for letter in set(_LETTER_REF.findall(clause)) or refs if letter in rows]
        plain = _LETTER_REF.sub(" ", clause)
        if _JOINT.search(plain) and len(about) < 2:
            return False
        tokens = sorted(distinctive_tokens(plain))
        if any(missing_from(tokens, [row.paper]) or figures_unfit(plain, row.paper)
               or borrowed_words(plain, row.paper, _cells_text(r for r in table.rows if r is not row))
               for row in about):
            return False
    return True


def _cells_text(rows: Iterable[Row]) -> str:
    return " ".join(f"{row.name} {' '.join(cell.text for cell in row.cells if cell.origin != 'none')}" for row in rows)


def normalise_references(text: str) -> str:
    """'the first paper' and 'Paper A' become '[A]', the form the table uses ('the fourth' of three: '[D]')."""
    text = _ORDINAL.sub(lambda match: f"[{chr(ord('A') + ORDINALS.index(match.group(1).lower()))}]", text)
    return _PAPER_LETTER.sub(r"[\1]", text)


def _names_row(sentence: str, row: Row) -> bool:
    return row.letter in _LETTER_REF.findall(sentence) or row.name.rstrip("…").lower() in sentence.lower()
