"""Which figure or count goes with which thing inside one sentence of a paper, so an answer can't
give a figure the paper states to the thing beside it.

The citation checks look for the claim's figures in the cited paper, and the paper does state them;
what they miss is the pairing within a sentence:

- "it improves R10@1 by 2.9% with an approximately 4X faster inference speed" read as "improves
  inference speed by 2.9%": each figure is read with the words next to it (`_window_verdict`);
- "accelerates both SD and DeepFloyd-IF by 41% and 24% respectively" read as "41% for
  DeepFloyd-IF": a run of figures goes, in order, with a list of as many things (`_item_verdict`);
- "five diverse pre-training tasks" read as "two pre-training tasks": a count goes with the noun
  after it (`count_for_another_thing`);
- "improves the inference latency by up to 4.8 times" read as "cuts FLOPs by 4.8 times": what a
  figure measures (time, computation, memory, parameters, energy) is read beside it
  (`figure_of_another_measure`).

Each check answers only when the sentence settles it; otherwise the claim passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.models import Paper
from index.text import STOPWORDS, content_stems, sentences, stem
from service.tldr_checks import RESULT_NUMBER, result_figures, result_numbers

# Counts written out ("three bridge layers"). "one" is left out: it is mostly not a count ("one of the …").
COUNT_WORDS = {"two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
               "nine": "9", "ten": "10", "eleven": "11", "twelve": "12"}
# counts said by an adjective ("dual paths", "a single, unified … mechanism"): no figure to compare
COUNT_ADJECTIVES = ("single", "dual", "double", "triple", "twin")
# How many content words on each side of a figure say what it measures.
WORDS_BEFORE, WORDS_AFTER = 5, 4
# A list item or a counted thing is a short noun phrase.
ITEM_WORDS, COUNTED_WORDS = 4, 5

_LETTERS = re.compile(r"[^\W\d_]+")
_WORD_OR_MARK = re.compile(r"[^\W_][\w\-@'’/]*|[,;:!?]")
# Words that end a clause: the words after them no longer describe the figure before them.
_CLAUSE_WORDS = frozenset("while whereas but which that respectively".split())
# Words beside a figure that say it changed, or how exactly, and not what it measures.
_NOT_MEASURE = re.compile(
    r"(?:improv|achiev|reach|obtain|attain|yield|bring|brought|outperform|surpass|accelerat|reduc|increas|"
    r"decreas|boost|gain|lead|led|result|approximately|about|around|nearly|almost|roughly|up|over|more|less|"
    r"than|least|average|only|report|show|demonstrat|deliver|further|absolute|relative)", re.IGNORECASE)
_LIST_JOINERS = frozenset({",", "and", "or", "/"})
_ARTICLES = frozenset({"the", "a", "an"})
_GIVEN_FOR = frozenset({"on", "in", "for", "at"})  # "88.5% on ImageNet"
_ITEM_ENDS = STOPWORDS | {"both", "either", "between", "respectively", "under"}


@dataclass(frozen=True)
class _Piece:
    kind: str  # "figure", "word" or "mark" (punctuation that ends a phrase)
    text: str  # a figure's value without trailing zeros, a word as written, or the mark


@dataclass(frozen=True)
class _Verdict:
    right: bool
    other: str = ""  # where wrong: the figure the paper gives for what the claim says
    about: str = ""  # and what the paper says it gives it for


def figure_bound_elsewhere(claim: str, paper: Paper) -> str | None:
    """Why the claim gives one of the paper's figures to something the paper gives another figure for,
    or None: every sentence of the paper stating the figure pairs it, or the claim's thing, otherwise."""
    title = content_stems(paper.title)
    claimed = _pieces(claim)
    said = [(result_numbers(sentence), _pieces(sentence)) for sentence in sentences(paper.abstract)]
    for at, piece in enumerate(claimed):
        if piece.kind != "figure":
            continue
        holders = [pieces for figures, pieces in said if piece.text in figures]
        verdicts = [_verdict(claimed, at, pieces, title) for pieces in holders]
        wrong = [v for v in verdicts if v is not None and not v.right]
        if holders and len(wrong) == len(holders):
            return (f"it gives {piece.text} to “{wrong[0].about}”, "
                    f"for which the paper gives {wrong[0].other}")
    return None


# What a figure measures where efficiency claims get mixed up: word starts (stems) of each kind, and whole
# words where a start would say too much ("times" is a ratio, "machine" no MACs, "power" mostly not watts).
_MEASURE_KINDS = {
    "time": ("latenc", "speed", "faster", "slower", "runtime", "throughput", "wall-clock"),
    "computation": ("flop", "computation", "operation", "gflop"),
    "memory": ("memor", "footprint", "vram"),
    "parameters": ("parameter",),
    "energy": ("energ", "watt"),
}
_MEASURE_WHOLE = {"time": {"time", "fast", "slow"}, "computation": {"compute", "macs"}, "parameters": {"param"}}


def figure_of_another_measure(claim: str, paper: Paper) -> str | None:
    """Why the claim says one of the paper's figures measures one thing (FLOPs) where every sentence
    of the paper stating the figure says it measures another (latency), or None."""
    said = [_figure_kinds(_pieces(sentence)) for sentence in sentences(paper.abstract)]
    for figure, kinds in _figure_kinds(_pieces(claim)):
        given = [found for figures in said for other, found in figures if other == figure]
        if kinds and given and all(found and not found & kinds for found in given):
            paper_says = " or ".join(sorted(set().union(*given)))
            return f"it gives {figure} as {' and '.join(sorted(kinds))}, where the paper gives it as {paper_says}"
    return None


def figure_asked_elsewhere(claim: str, question: str, paper: Paper) -> str | None:
    """Why the claim's figures don't answer the question, or None: the paper's sentence with most of the
    question's words (beyond the title's) gives other figures than the claim's, which come from another
    sentence ("what accuracy on VQAv2 test-std, the base model?" answered with the scaled model's 81.15%,
    or "how many times faster at inference?" with the long-form ASR's 20x)."""
    claimed = result_numbers(claim)
    given = figures_given_instead(content_stems(question) - content_stems(paper.title), claimed, paper)
    return given and (f"{', '.join(sorted(claimed))} is not the paper's figure for what was asked; "
                      f"it gives {', '.join(sorted(given))} for that")


def figures_given_instead(words: set[str], claimed: set[str], paper: Paper) -> set[str] | None:
    """The figures of the paper's sentence with most of `words` where the `claimed` figures come only from
    sentences with fewer of them; None where that sentence states a claimed figure, or none, or no sentence
    states the claimed ones."""
    found = sentences(paper.abstract)
    if not claimed or not found:
        return None
    shared = [len(words & content_stems(RESULT_NUMBER.sub(" ", sentence))) for sentence in found]
    best = max(range(len(found)), key=shared.__getitem__)
    holders = [i for i, sentence in enumerate(found) if claimed & result_numbers(sentence)]
    given = result_numbers(found[best])
    if claimed & given or not given or not holders or shared[best] <= max(shared[i] for i in holders):
        return None
    return given


def measures_named(text: str, leaving_out: str = "") -> set[str]:
    """The kinds of measure (time, computation, memory, parameters, energy) the text's words name,
    leaving out words of `leaving_out`."""
    return _measure_kinds(content_stems(text) - content_stems(leaving_out))


def figure_measures(text: str) -> list[set[str]]:
    """For each figure of the text, the kinds of measure named beside it (empty where none is)."""
    return [kinds for _, kinds in _figure_kinds(_pieces(text))]


def _figure_kinds(pieces: list[_Piece]) -> list[tuple[str, set[str]]]:
    return [(piece.text, _measure_kinds(_measure_words(pieces, at))) for at, piece in enumerate(pieces)
            if piece.kind == "figure"]


def _measure_kinds(stems: set[str]) -> set[str]:
    return {kind for kind, starts in _MEASURE_KINDS.items() for word in stems
            if word.startswith(starts) or word in _MEASURE_WHOLE.get(kind, ())}


def count_for_another_thing(claim: str, paper: Paper) -> str | None:
    """Why the claim counts something the paper counts otherwise ("two pre-training tasks" where the
    paper has "five diverse pre-training tasks" and no two of them), or None."""
    stated: dict[str, set[str]] = {}
    for sentence in [paper.title, *sentences(paper.abstract)]:
        for count, head in _counted(sentence):
            stated.setdefault(head, set()).add(count)
    for count, head in _counted(claim):
        if head in stated and count not in stated[head]:
            given = " or ".join(sorted(stated[head], key=int))
            return f"it counts {count} of “{head}”, where the paper counts {given}"
    return None


def _verdict(claimed: list[_Piece], at: int, said: list[_Piece], title: set[str]) -> _Verdict | None:
    if any(p.text.lower() == "respectively" for p in said):
        figures = {p.text for p in claimed if p.kind == "figure"}
        return _item_verdict(content_stems(" ".join(p.text for p in claimed)) - title, figures, claimed[at].text, said,
                             title)
    return _window_verdict(_measure_words(claimed, at) - title, claimed[at].text, said, title)


def _window_verdict(words: set[str], figure: str, said: list[_Piece], title: set[str]) -> _Verdict | None:
    """Right where the claim's words beside the figure are words the sentence has beside it; wrong where
    they are only words the sentence has beside another of its figures."""
    own: set[str] = set()
    others: dict[str, set[str]] = {}
    for at, piece in enumerate(said):
        if piece.kind == "figure":
            near = _measure_words(said, at) - title
            if piece.text == figure:
                own |= near
            else:
                others.setdefault(piece.text, set()).update(near)
    if not others:
        return _Verdict(True) if words & own else None
    shared = own & set().union(*others.values())
    if words & (own - shared):
        return _Verdict(True)
    for other, near in others.items():
        if hits := words & (near - shared - own):
            return _Verdict(False, other, _written(said, hits))
    return None


def _item_verdict(stems: set[str], figures: set[str], figure: str, said: list[_Piece],
                  title: set[str]) -> _Verdict | None:
    """For a "respectively" sentence: right or wrong where the claim names exactly one item of the list
    its figure's run goes with in order, and restates none of the sentence's figures outside that run (the
    sentence itself, quoted, pairs them rightly)."""
    for at, piece in enumerate(said):
        if piece.kind != "figure" or piece.text != figure:
            continue
        start, end = _run(said, at)
        run = [p.text for p in said[start:end] if p.kind == "figure"]
        if figures & {p.text for p in said[:start] + said[end:] if p.kind == "figure"}:
            continue
        items = (_coordinated_items(said, start, end, len(run)) or _parallel_items(said, start, end, len(run))
                 if len(run) > 1 else None)
        if not items:
            continue
        item_stems = [content_stems(item) - title for item in items]
        unique = [s - set().union(*(o for j, o in enumerate(item_stems) if j != i)) for i, s in enumerate(item_stems)]
        named = [i for i, u in enumerate(unique) if u & stems]
        if len(named) == 1:
            right = run[named[0]] == figure
            return _Verdict(right, run[named[0]], items[named[0]])
    return None


def _written(pieces: list[_Piece], stems: set[str]) -> str:
    """The words of `pieces` that carry `stems`, as written, each once."""
    return " ".join(dict.fromkeys(p.text for p in pieces if p.kind == "word" and content_stems(p.text) & stems))


def _pieces(text: str) -> list[_Piece]:
    found: list[_Piece] = []
    position = 0
    for start, end, value in result_figures(text):
        found += _words(text[position:start])
        found.append(_Piece("figure", value))
        position = end
    return found + _words(text[position:])


def _words(text: str) -> list[_Piece]:
    return [_Piece("word" if token[0].isalnum() else "mark", token) for token in _WORD_OR_MARK.findall(text)]


def _measure_words(pieces: list[_Piece], at: int) -> set[str]:
    """The content stems said beside the figure at `at`, within its clause and before any other figure."""
    found: set[str] = set()
    for step, limit in ((-1, WORDS_BEFORE), (1, WORDS_AFTER)):
        taken, i = 0, at + step
        while 0 <= i < len(pieces) and taken < limit and pieces[i].kind == "word":
            if pieces[i].text.lower() in _CLAUSE_WORDS:
                break
            stems = {s for s in content_stems(pieces[i].text) if not _NOT_MEASURE.match(s)}
            taken += bool(stems)
            found |= stems
            i += step
    return found


def _run(pieces: list[_Piece], at: int) -> tuple[int, int]:
    """The span of the run of figures around `at` ("41% and 24%", "1%, 2%, and 3%")."""
    start = end = at
    while step := _next_in_run(pieces, start, -1):
        start += step
    while step := _next_in_run(pieces, end, 1):
        end += step
    return start, end + 1


def _next_in_run(pieces: list[_Piece], at: int, step: int) -> int:
    """How far, in direction `step`, the next figure of the run is from `at` ("41% and 24%": 2;
    "2%, and 3%": 3), or 0 where the run ends."""
    for gap in (2, 3):
        joiners = [pieces[at + step * k] for k in range(1, gap) if 0 <= at + step * k < len(pieces)]
        beyond = at + step * gap
        if len(joiners) == gap - 1 and all(p.text.lower() in _LIST_JOINERS for p in joiners) \
                and 0 <= beyond < len(pieces) and pieces[beyond].kind == "figure":
            return step * gap
    return 0


def _coordinated_items(pieces: list[_Piece], start: int, end: int, count: int) -> list[str] | None:
    """The `count` things a list outside the run [start, end) coordinates ("the SD and the DeepFloyd-IF
    models", "classification, captioning, and VQA tasks"), the list nearest the run first."""
    joins = [i for i, p in enumerate(pieces) if p.text.lower() == "and" and not start <= i < end]
    for i in sorted(joins, key=lambda i: min(abs(i - start), abs(i - end))):
        last = _phrase(pieces, i + 1, 1)
        earlier = _items_before(pieces, i - 1, count - 1)
        if last and earlier is not None:
            return [*earlier, last]
    return None


def _parallel_items(pieces: list[_Piece], start: int, end: int, count: int) -> list[str] | None:
    """The things the sentence's other `count` figures are each given for, in order, where there are exactly
    that many and each names one ("88.5% on ImageNet and 80.7% on ImageNet-CN, surpassing … by 2.2% and
    21.1%, respectively"), else None."""
    others = [i for i, piece in enumerate(pieces) if piece.kind == "figure" and not start <= i < end]
    if len(others) != count:
        return None
    items = [_phrase(pieces, i + 2, 1) if i + 2 < len(pieces) and pieces[i + 1].text.lower() in _GIVEN_FOR else ""
             for i in others]
    return items if all(items) else None


def _items_before(pieces: list[_Piece], at: int, count: int) -> list[str] | None:
    """`count` comma-separated items ending at `at` (an Oxford comma allowed), leftmost first."""
    if at >= 0 and pieces[at].text == ",":
        at -= 1
    items: list[str] = []
    while len(items) < count:
        words = _phrase(pieces, at, -1)
        if not words:
            return None
        items.insert(0, words)
        at -= len(words.split())
        while at >= 0 and pieces[at].text.lower() in _ARTICLES:
            at -= 1
        if len(items) < count:
            if at < 0 or pieces[at].text != ",":
                return None
            at -= 1
    return items


def _phrase(pieces: list[_Piece], at: int, step: int) -> str:
    """The words of a short noun phrase from `at` in direction `step`, leading articles skipped."""
    while step > 0 and 0 <= at < len(pieces) and pieces[at].text.lower() in _ARTICLES:
        at += step
    words: list[str] = []
    while 0 <= at < len(pieces) and len(words) < ITEM_WORDS and pieces[at].kind == "word" \
            and pieces[at].text.lower() not in _ITEM_ENDS:
        words.append(pieces[at].text)
        at += step
    return " ".join(words if step > 0 else words[::-1])


def _counted(text: str) -> list[tuple[str, str]]:
    """(count, the stem of the counted noun) for each count the text states ("five … tasks" -> ("5", "task"))."""
    found = []
    pieces = _pieces(text)
    for i, piece in enumerate(pieces):
        word, _, rest = piece.text.lower().partition("-")
        count = COUNT_WORDS.get(word) or (word if word.isdecimal() and 2 <= int(word) <= 12 and not rest else None)
        if piece.kind != "word" or count is None:
            continue
        phrase = ([rest] if _LETTERS.search(rest) else []) + _following_words(pieces[i + 1 :])
        if phrase:
            found.append((count, stem(_LETTERS.findall(phrase[-1].lower())[-1])))
    return found


def _following_words(pieces: list[_Piece]) -> list[str]:
    words = []
    for piece in pieces[:COUNTED_WORDS]:
        if piece.kind != "word" or not _LETTERS.search(piece.text) or piece.text.lower() in STOPWORDS:
            break
        words.append(piece.text)
    return words
