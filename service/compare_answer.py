"""Compare questions ("Compare EVE and ENEL", "How does TextCraftor differ from Faster Diffusion?"):
the papers they name are resolved against the catalogue, the compare pipeline builds the traced
table, and a short answer on top is assembled in code from the table's cells, each sentence citing
the one paper it is about, with the abstract's own sentences on what the paper does (the one closest
to its title, and the one closest to what the question asks about each when that is another, among the
sentences where the authors say what they did; for a question about nothing in particular, the one that
says how the method works). Nothing in it comes from one paper and is said of another.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import numpy as np

from index.models import Paper
from index.text import as_typed, points_at_code, sentences
from service.answer_quote import LEXICAL_WEIGHT, porter_stems, word_share
from service.ask_records import Answer, AskEvent, AskResult, Retrieval, Sources, Token
from service.citations import Citation, Passage
from service.compare import MAX_PAPERS, MIN_PAPERS, Comparison, Row, compare_papers
from service.compare_cells import AUTHORED, NOT_STATED
from service.engines.protocol import Generator
from service.listing import default_scope
from service.plain_checks import built_by_authors
from service.question_kinds import COMPARE
from service.search import ALL_PAPERS, SearchFilter

_WORD = re.compile(r"[A-Za-z0-9][\w\-+]*")
# Where a question separates the things it compares.
_SEPARATOR = re.compile(r"\s*(?:,|\band\b|\bvs\.?|\bversus\b|\bwith\b|\bfrom\b|\bto\b|\bagainst\b)\s*", re.IGNORECASE)
_FRAME = re.compile(r"^(?:compare|how does|how do|what is the difference between|what are the differences between|"
                    r"contrast|the|differ|difference|differences)\b\s*", re.IGNORECASE)
_CAPITALISED_RUN = re.compile(r"\b[A-Z][\w\-+]*(?: [A-Z][\w\-+]*)+")
_GENERIC = frozenset({"The", "Compare", "How", "What", "Which", "LLM", "LLMs", "AI", "NLP"})
# Words that may stand inside a paper's description without being of its title ("the paper for extreme …").
_FILLERS = frozenset({"for", "of", "the", "a", "an", "in", "on", "with", "via", "to", "and", "vs", "paper", "method",
                      "approach", "model", "work", "study"})
# Words that say how a method works, and words of a result: a sentence on how it works has the first, not the second.
_HOW = re.compile(r"\b(?:by|using|uses?|via|through|consists? of|based on|combin\w*|operat\w*|takes?|inputs?|"
                  r"architectures?|modules?|branch\w*|layers?|loss(?:es)?|strateg\w*|scheme|mechanism|pre-?train\w*|"
                  r"fine-?tun\w*|train\w*|jointly|instead of|without|encod\w*|decod\w*)\b", re.IGNORECASE)
_RESULT = re.compile(r"\d+(?:\.\d+)?\s*(?:%|x\b|×|times\b)|\d+\.\d+|\b(?:outperform\w*|state-of-the-art|sota|achiev\w*|"
                     r"surpass\w*|improv\w*|results?|available|releas\w*)\b", re.IGNORECASE)
_MIN_HOW = 2
_CONTRIBUTES = re.compile(r"\b(?:we|this (?:paper|work|study))\s+(?:\w+\s+){0,2}?"
                          r"(?:propose|present|introduce|develop|design|devise)s?\b", re.IGNORECASE)
# Words of a compare question that ask nothing about the papers: what is left is its aspect ("how they
# process videos" → "process videos").
_QUESTION_FRAME = re.compile(
    r"\b(?:compare|comparison|how|does|do|did|differ|different|difference|differences|from|and|with|vs\.?|"
    r"versus|the|in|what|is|are|was|each|between|they|their|its|it|of|to|a|an|on|make|makes|paper|papers)\b|['’]s\b|[():?.!,;]",
    re.IGNORECASE)


def named_papers(library, question: str, filters: SearchFilter = ALL_PAPERS) -> list[tuple[str, Paper]]:
    """(the name the question used, the paper it names), in question order, for names that point at
    exactly one paper of the scope: its title first, else its abstract; then each remaining part of
    the question by search, when the search's best paper is not already named."""
    scope = default_scope(library, filters)
    found = _named_outright(question, library.papers(scope.days, scope.sources))
    named = [name.lower() for name, _ in found.values() if name]
    for part in _parts(question):
        if len(found) >= MIN_PAPERS:  # a part left over names no further paper ("its approach")
            break
        if any(name in part.lower() for name in named):  # "JPQ's approach": already resolved
            continue
        fresh = [hit.paper for hit in library.search(part, 3, scope) if hit.paper.id not in found]
        if fresh:
            found[fresh[0].id] = ("", fresh[0])  # no name given: the table's short name
    return list(found.values())[:MAX_PAPERS]


def names_outright(library, question: str, filters: SearchFilter = ALL_PAPERS) -> list[tuple[str, Paper]]:
    """(the name used, the paper) for each name in the question that points at one paper of the scope
    (a method name or words only one paper has), in question order, no search; a paper named twice
    ("M2-Encoder", "ImageNet") comes once per name."""
    scope = default_scope(library, filters)
    papers = library.papers(scope.days, scope.sources)
    return [(name, paper) for name in _names(as_typed(question)) if (paper := _paper_named(name, papers))]


def _named_outright(question: str, papers: Sequence[Paper]) -> dict[str, tuple[str, Paper]]:
    found: dict[str, tuple[str, Paper]] = {}
    for name in _names(as_typed(question)):
        if (paper := _paper_named(name, papers)) and paper.id not in found:
            found[paper.id] = (name, paper)
    return found


def _names(question: str) -> list[str]:
    """Single-word names (EVE, TextCraftor) and runs of capitalised words ("Faster Diffusion"), in order."""
    words = _WORD.findall(question)
    runs = [m.group(0) for m in _CAPITALISED_RUN.finditer(question) if m.start() > 0]
    singles = [word for word in words if is_name(word) and word not in _GENERIC]
    return sorted(dict.fromkeys([*runs, *singles]), key=question.find)


def is_name(word: str) -> bool:
    """A method or model name as readers write it: EVE, ENEL, JPQ, TextCraftor, M2-Encoder, U-Net, SpeechT5
    (two capitals, or a capital and a digit); not "Compare", not "encoder-free"."""
    capitals = sum(ch.isupper() for ch in word)
    return capitals >= 2 or (capitals == 1 and any(ch.isdigit() for ch in word))


def _paper_named(name: str, papers: Sequence[Paper]) -> Paper | None:
    pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", 0 if name.isupper() else re.IGNORECASE)
    for field in ("title", "abstract"):
        matches = [paper for paper in papers if pattern.search(as_typed(getattr(paper, field)))]
        if len(matches) == 1:
            return matches[0]
        if matches:
            return None  # the name is shared: not a name of one paper
    return None


def _parts(question: str) -> list[str]:
    text = _FRAME.sub("", " ".join(question.split()).split(":")[0].rstrip("?.! "))  # "A vs B: how does each …"
    return [part for part in _SEPARATOR.split(text) if len(part.split()) >= 1 and part.strip()]


def compare_answer(library, generator: Generator, question: str, named: Sequence[tuple[str, Paper]],
                   cache, lead: str = "", aspect: str | None = None) -> Iterator[AskEvent]:
    """Events of a compare answer over the named papers: the sources, then at once each paper's own
    sentences on what it does (no model), then, once the table is built, each paper's row in a line.
    A lead, when given, opens the answer (which papers a topic brought); an aspect given replaces the
    one read from the question."""
    passages = tuple(Passage(n, paper, "", (), 1.0) for n, (_, paper) in enumerate(named, 1))
    yield Sources(Retrieval(question, passages, 1.0, 1.0))
    names = [name for name, _ in named]
    if aspect is None:
        aspect = question_aspect(question, names, [paper.title for _, paper in named])
    quotes = [what_it_does(library, paper, aspect, name) for name, paper in named]
    # a name shown as the paper's is one its authors gave it ("3D GAN inversion" makes no paper "GAN")
    shown = [(name if name and built_by_authors(name, paper.title, paper.abstract) else "", paper)
             for name, paper in named]
    opening = [lead] * bool(lead) + quoted_lines(shown, quotes)
    yield Token("\n".join(opening))
    comparison = compare_papers([paper for _, paper in named], generator, cache)
    rows, citations = row_lines(comparison, [name for name, _ in shown], quotes)
    if rows:
        yield Token("\n" + "\n".join(rows))
    result = AskResult(question, "\n".join(opening + rows), citations, False, "", "",
                       Retrieval(question, passages, 1.0, 1.0), kind=COMPARE, comparison=comparison)
    yield Answer(result)


def question_aspect(question: str, names: Sequence[str], titles: Sequence[str] = ()) -> str:
    """What a compare question asks about the papers, without their names and the question's frame. A name
    runs on through the words around it that its paper's title has: in "the geometry-aware 3D GAN inversion
    encoder", all of it names the paper, and none of it is an aspect."""
    text = question.split(":", 1)[1] if ":" in question else question
    for name, title in zip(names, list(titles) or [""] * len(names), strict=True):
        text = _described(text, name, title)
    return " ".join(word for word in _QUESTION_FRAME.sub(" ", text).split() if len(word) > 2)


def _described(text: str, name: str, title: str) -> str:
    """`text` without the words that name one paper: `name` and the title's words either side of it, or, for
    a paper the question describes instead ("the dual-encoder paper for extreme multi-label classification"),
    the longest run of at least two of its title's words (fillers like "for", "the", "paper" may join them)."""
    words = text.split()
    if not title:
        return text.replace(name, " ") if name else text
    in_title = {word.lower().rstrip("s") for word in _WORD.findall(title)}
    titled = [_bare(word).rstrip("s") in in_title for word in words]
    filler = [_bare(word) in _FILLERS for word in words]
    if name:
        at = next((i for i, word in enumerate(words) if name in word), None)
        if at is None:  # a name of several words ("Faster Diffusion")
            return text.replace(name, " ")
        start, end = at, at + 1
        while start > 0 and titled[start - 1]:
            start -= 1
        while end < len(words) and titled[end]:
            end += 1
        return " ".join(words[:start] + words[end:])
    runs = [(i, j) for i in range(len(words)) for j in range(i + 1, len(words) + 1)
            if titled[i] and titled[j - 1] and all(t or f for t, f in zip(titled[i:j], filler[i:j], strict=True))
            and sum(titled[i:j]) >= 2]
    if not runs:
        return text
    start, end = max(runs, key=lambda run: run[1] - run[0])
    return " ".join(words[:start] + words[end:])


def _bare(word: str) -> str:
    return word.strip(",.?!:;()'’").lower().removesuffix("'s")


def what_it_does(library, paper: Paper, aspect: str, name: str = "") -> tuple[tuple[int, str], ...]:
    """(index, sentence) pairs of the paper's abstract that say what it does: the one closest to its name
    and title (the first naming it, when the title doesn't), then the one closest to what the question
    asks about if it is another, or, when the question asks about nothing in particular ("Compare A and
    B"), the one that best says how the paper's method works. Chosen among the sentences where the authors
    speak or the paper is named, when there are any; never a code link."""
    kept = library.sentence_vectors.of([paper])[paper.id]
    usable = [i for i, text in enumerate(kept.sentences) if not points_at_code(text)]
    own = [i for i in usable if AUTHORED.search(kept.sentences[i])]
    # a name said before the authors speak is said of others' work ("extending 2D StyleGAN to 3D … GAN inversion")
    authored = [i for i in usable if i in own or (name and name in kept.sentences[i] and i >= (own or [0])[0])]
    if not (candidates := authored or usable):
        return ()
    naming = [i for i in candidates if name and name not in paper.title and name in kept.sentences[i]]
    chosen = naming[:1]
    named_title = f"{name}: {paper.title}" if name else paper.title  # the title may not say what it does
    # the sentence standing for the title is one where the authors say what they propose, when one does
    # ("We propose decoupled softmax loss …", not "existing … losses are not appropriate …")
    contributing = [i for i in candidates if _CONTRIBUTES.search(kept.sentences[i])] or candidates
    targets = ([] if naming else [(named_title, contributing)]) + ([(aspect, candidates)] if aspect else [])
    for target, among in targets:
        # the aspect's own words count as in a fact's quote ("pre-training objectives": the sentence naming them)
        asked = porter_stems(target) - porter_stems(f"{name} {paper.title}") if target == aspect else set()
        best = _closest(library, kept, target, among, asked)
        if best not in chosen:
            chosen.append(best)
    if not aspect and (how := how_it_works(kept.sentences, usable, candidates[0], chosen, name)) is not None:
        chosen.append(how)
    return tuple((i, kept.sentences[i]) for i in sorted(chosen))


def _closest(library, kept, target: str, among: Sequence[int], asked: set[str]) -> int:
    """Of the sentences `among`, the closest to `target`: dense cosine plus the share of `asked` it says."""
    vector = np.asarray(library.searcher.query_vector(target), dtype=np.float32)

    def score(i: int) -> float:
        said = word_share(asked, porter_stems(kept.sentences[i])) if asked else 0.0  # no words asked: no stemming
        return float(kept.vectors[i] @ vector) + LEXICAL_WEIGHT * said
    return max(among, key=score)


def how_it_works(texts: Sequence[str], usable: Sequence[int], first_own: int, chosen: Sequence[int],
                 name: str = "") -> int | None:
    """The sentence that best says how the paper's method works ("we propose operating directly over 2D point
    tracks as input …"), from the authors' first sentence on: the most words of mechanism (the method's own
    name aside: "Uni-Encoder" says nothing of how), at least `_MIN_HOW`, and no result (a figure,
    "outperforms"), which the row's result cell already gives."""
    unnamed = re.compile(rf"\S*{re.escape(name)}\S*") if name else None  # "FastIR-Encoder" names, says no "encoder"
    scored = [(len(_HOW.findall(unnamed.sub(" ", texts[i]) if unnamed else texts[i])), -i) for i in usable
              if i >= first_own and i not in chosen and not _RESULT.search(texts[i])]
    best = max(scored, default=(0, 0))
    return -best[1] if best[0] >= _MIN_HOW else None


def quoted_lines(named: Sequence[tuple[str, Paper]], quotes: Sequence[Sequence[tuple[int, str]]]) -> list[str]:
    """One line per paper: its name and title, then its own sentences on what it does, quoted."""
    lines = []
    for number, ((name, paper), quoted) in enumerate(zip(named, quotes, strict=True), start=1):
        label = f"{name} ({paper.title})" if name else paper.title
        lines.append(f"{label} [{number}]" + (":" + "".join(f" “{text}”" for _, text in quoted) if quoted else ""))
    return lines


def row_lines(comparison: Comparison, names: Sequence[str],
              quotes: Sequence[Sequence[tuple[int, str]]]) -> tuple[list[str], tuple[Citation, ...]]:
    """A line per paper from its own row (method, data, key result), without the cells its quoted
    sentences already hold; a citation per paper (that paper only: the sentences behind its cells and quotes)."""
    lines, citations = [], []
    for number, (row, name, quoted) in enumerate(zip(comparison.table.rows, names, quotes, strict=True), start=1):
        shown = " ".join(text for _, text in quoted).lower()
        said = "; ".join(f"{label}: {text}" for label, text in
                         (("method", _phrase(row, "method")), ("data", _phrase(row, "data")),
                          ("key result", _phrase(row, "result"))) if text and text.lower() not in shown)
        if said:  # else its quotes hold all its row says
            lines.append(f"{name or row.paper.title} [{number}] — {said}" + ("" if said.endswith("…") else "."))
        citations.append(_row_citation(number, row, [index for index, _ in quoted]))
    return lines, tuple(citations)


def _phrase(row: Row, field: str) -> str:
    cell = row.cell(field)
    return "" if cell.origin == "none" or cell.text == NOT_STATED else cell.text.rstrip(". ")


def _row_citation(number: int, row: Row, quoted: Sequence[int] = ()) -> Citation:
    """The paper's row as a citation: the abstract sentences behind its cells and the quoted ones."""
    texts = sentences(row.paper.abstract)
    behind = {c.sentence_index for c in row.cells if c.sentence_index is not None} | set(quoted)
    indices = tuple(sorted(i for i in behind if i < len(texts)))
    return Citation(number, row.paper.id, row.paper.title, row.paper.url, indices,
                    tuple(texts[i] for i in indices), 1.0)
