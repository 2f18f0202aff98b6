"""Checks a generated answer against the passages it was given — in code, not on the model's word.

The bundled 0.5B model cites unreliably (it forgets markers, points at the wrong source and
fills gaps from other passages), so every claim is checked:

- a marker [n] that names no passage is removed;
- a kept marker is tied to the sentences of its passage that best support the answer sentence
  carrying it (stemmed word overlap), and re-pointed when it does not support it but another
  passage clearly does;
- distinctive tokens of a claim (numbers, acronyms, CamelCase names) must occur in the cited
  passage: that is how facts borrowed from another paper or made up show up;
- quoted text must appear verbatim in a cited passage, else the quote marks go and it is flagged;
- an answer sentence left uncited gets the best-supporting passage when the overlap is high
  enough, marked `added`; otherwise it stays uncited and flagged;
- a sentence is removed, with a note, when it speaks of several papers ("both", "similar") but
  cites one, or states a number or name that the paper it cites never states (a fact of another
  source said of this one, or made up), or states one with no citation at all, or states a figure
  the paper gives for something else (the paper's sentence on what the claim says gives another) or in
  another role (a gain stated as a score: `service.figure_roles`),
  or gives a part to the wrong one of two counterparts ("the decoder layers" where the paper speaks
  of the encoder's layers and never of the decoder's);
- a sentence that gives the paper's system what the paper says another system does ("Uni-Encoder cuts …"
  where the paper says Poly-Encoder does) gets the rightful subject back, with a note
  (`service.subject_binding`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.models import Paper
from index.text import content_stems, sentences, split_sentences
from service.figure_binding import (
    COUNT_WORDS,
    count_for_another_thing,
    figure_asked_elsewhere,
    figure_bound_elsewhere,
    figure_of_another_measure,
    figures_given_instead,
)
from service.figure_roles import figure_in_another_role
from service.restatement import only_restates
from service.subject_binding import with_rightful_subject
from service.tldr_checks import RESULT_NUMBER, result_numbers

# Share of a claim's content words its source must contain. Answers the 0.5B model copies from a
# source score 0.6–1.0; its borrowed or invented claims ("BridgeTower uses reinforcement learning
# algorithms for training") about 0.5 (docs/ask-calibration.md).
MIN_SUPPORT = 0.6
# An uncited claim gets a source only with more overlap: nobody chose that source for it.
MIN_ADDED_SUPPORT = 0.7

MARKER = re.compile(r"\[\s*(?:sources?\s*)?(\d{1,3}(?:\s*[,;]\s*(?:sources?\s*)?\d{1,3})*)\s*\]", re.IGNORECASE)
_LEADING_MARKERS = re.compile(rf"(?:\s*{MARKER.pattern}\s*[.,;:]?)*\s*", re.IGNORECASE)
_QUOTE = re.compile(r"\"([^\"\n]{3,}?)\"|“([^”\n]{3,}?)”")
# Words that claim something of several papers at once: such a sentence needs two cited papers.
_SEVERAL = re.compile(r"\b(?:both|all (?:of )?(?:the|these|three|four)|similar(?:ly)?|likewise|neither|either|"
                      r"the same|in common|each of)\b", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W_][\w\-.,+@%]*")
_COUNT_FIGURES = {figure: word for word, figure in COUNT_WORDS.items()}
# Words naming one of two counterpart parts or roles, which a small model swaps ("the decoder layers
# represent textures" where the paper says the encoder's shallow layers do).
_COUNTERPARTS = (("encoder", "decoder"), ("deep", "shallow"), ("upper", "lower"), ("student", "teacher"),
                 ("generator", "discriminator"), ("source", "target"), ("input", "output"), ("global", "local"),
                 ("coarse", "fine"), ("forward", "backward"), ("spatial", "temporal"), ("visual", "textual"),
                 ("structure", "texture"), ("early", "late"))
_COUNTERPART = {a: b for pair in _COUNTERPARTS for a, b in (pair, pair[::-1])}
_WORD_OR_MARK = re.compile(r"[A-Za-z]+(?:['’]s)?|[^\sA-Za-z]")


@dataclass(frozen=True)
class SourceSentence:
    index: int  # position in the paper's sentence list (index.text.split_sentences)
    text: str


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk as numbered in the prompt (sentences that address the model removed)."""

    number: int
    paper: Paper
    chunk_id: str
    sentences: tuple[SourceSentence, ...]
    relevance: float  # dense cosine between the question and the chunk

    @property
    def text(self) -> str:
        return " ".join(sentence.text for sentence in self.sentences)


@dataclass(frozen=True)
class Citation:
    number: int  # the passage number, as in the answer's [n] markers
    paper_id: str
    title: str
    url: str
    sentence_indices: tuple[int, ...]
    sentences: tuple[str, ...]
    support: float  # best share of a citing claim's content words found in the passage
    added: bool = False  # attached by paperbrief because the model cited nothing for the claim


@dataclass(frozen=True)
class CheckedAnswer:
    text: str  # the answer with markers and quotes cleaned
    citations: tuple[Citation, ...]  # in order of first use
    notes: tuple[str, ...]  # what was changed or flagged, for the user
    restated: tuple[int, ...] = ()  # the markers of the sentences removed as only saying the question back


@dataclass(frozen=True)
class _Claim:
    text: str  # one answer sentence without its markers
    numbers: tuple[int, ...]  # the markers it carried, in order


def strip_markers(text: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(MARKER.sub("", text).split()))


def support(claim: str, passage: Passage) -> float:
    """Share of the claim's content words that the passage (title included) contains."""
    words = content_stems(claim)
    if not words:
        return 0.0
    return len(words & content_stems(passage.paper.title + " " + passage.text)) / len(words)


def distinctive_tokens(text: str) -> set[str]:
    """Numbers (counts written out too), acronyms and CamelCase names: the words a borrowed or
    invented fact brings."""
    found = set()
    for raw in _TOKEN.findall(text):
        token = raw.strip(".,-+@%")
        if any(ch.isdigit() for ch in token) or sum(ch.isupper() for ch in token) >= 2:
            found.add(token)
        elif token.lower() in COUNT_WORDS:
            found.add(token.lower())
    return found


def missing_facts(claim: str, passage: Passage) -> list[str]:
    """Distinctive tokens of the claim that are no word of the passage (compared on letters and digits:
    the model writes "M2-Encoder-10B" for "M^2-Encoder-10B"; whole words: "EVE" is not in "achieves")."""
    words = _word_forms(passage.paper.title + " " + passage.text)
    return sorted(token for token in distinctive_tokens(claim) if not {_core(token), _core(token).removesuffix("s")} & words)


def _word_forms(text: str) -> set[str]:
    """Each whitespace-separated word and its hyphen/slash parts, letters and digits only, with and
    without a plural or possessive s."""
    forms = set()
    for word in text.lower().split():
        for part in [word, *re.split(r"[-/]", word)]:
            forms.update({_core(part), _core(part).removesuffix("s")} - {""})
    counts = {COUNT_WORDS.get(form) or _COUNT_FIGURES.get(form) for form in forms}  # "3" states "three"
    forms.update(counts - {None})
    return forms


def _core(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def split_claims(answer: str) -> list[_Claim]:
    """Answer sentences with the markers each carries; a marker after the full stop joins its sentence."""
    claims: list[_Claim] = []
    for start, end in split_sentences(answer):
        piece = answer[start:end]
        leading = _LEADING_MARKERS.match(piece)
        if claims and leading and leading.end():  # "… tracks. [1] It …": the [1] closes the sentence before
            claims[-1] = _Claim(claims[-1].text, claims[-1].numbers + marker_numbers(leading.group(0)))
            piece = piece[leading.end():]
        if piece.strip():
            claims.append(_Claim(strip_markers(piece), marker_numbers(piece)))
    return [claim for claim in claims if claim.text or claim.numbers]


def marker_numbers(text: str) -> tuple[int, ...]:
    """The source numbers the text's citation markers give, in order: "[1] … [2, 3]" → (1, 2, 3)."""
    return tuple(int(n) for group in MARKER.findall(text) for n in re.findall(r"\d+", group))


def best_sentences(claim: str, passage: Passage, limit: int = 2) -> tuple[SourceSentence, ...]:
    """A greedy cover: the sentence sharing most claim words, then one adding two or more it lacks
    (one word is usually just the method's name repeated)."""
    wanted = content_stems(claim)
    chosen: list[SourceSentence] = []
    for _ in range(limit):
        gains = [(len(wanted & content_stems(s.text)), -k, s) for k, s in enumerate(passage.sentences)
                 if s not in chosen]
        if not gains:
            break
        gain, _, sentence = max(gains, key=lambda item: item[:2])
        if chosen and gain < 2:
            break
        chosen.append(sentence)
        wanted -= content_stems(sentence.text)
    return tuple(sorted(chosen, key=lambda s: s.index))


def verify_quotes(claim: str, sources: Sequence[Passage]) -> tuple[str, list[str]]:
    """The claim with unverifiable quote marks removed, and a note for each."""
    haystacks = [_flat(p.paper.title + " " + p.text) for p in sources]
    notes: list[str] = []

    def check(match: re.Match) -> str:
        quoted = match.group(1) or match.group(2)
        if any(_flat(quoted).rstrip(".,;:") in hay for hay in haystacks):
            return match.group(0)
        notes.append(f'quote not found verbatim in the cited source, quote marks removed: "{quoted}"')
        return quoted

    return _QUOTE.sub(check, claim), notes


def _flat(text: str) -> str:
    return " ".join(text.replace("“", '"').replace("”", '"').split())


def check_answer(answer: str, passages: Sequence[Passage], question: str = "") -> CheckedAnswer:
    """The answer with every citation verified, re-pointed, added or removed (see module doc); a sentence
    that only says the `question` back is removed."""
    by_number = {passage.number: passage for passage in passages}
    notes: list[str] = []
    rendered: list[str] = []
    evidence: dict[int, dict] = {}
    restated: list[int] = []
    for claim in split_claims(answer):
        if only_restates(claim.text, question):
            notes.append(f"removed the sentence {_short(claim.text)}: it only says the question back")
            restated += claim.numbers
            continue
        numbers, added, claim_notes = _sources_for(claim, passages, by_number)
        judged_by = numbers or [n for n in dict.fromkeys(claim.numbers) if n in by_number]  # else the model's own
        text, rewritten = with_rightful_subject(claim.text, list({by_number[n].paper for n in judged_by}))
        if rewritten:
            claim = _Claim(text, claim.numbers)
            notes.append(rewritten)
        cited = [by_number[n] for n in judged_by]
        if reason := unfit_claim(claim.text, cited, passages) or _not_the_asked_figure(claim.text, question, cited):
            notes.append(f"removed the sentence {_short(claim.text)}: {reason}")
            continue
        text, quote_notes = verify_quotes(claim.text, [by_number[n] for n in numbers] or passages)
        notes += claim_notes + quote_notes
        if text:
            rendered.append(_with_markers(text, numbers))
        for number in numbers:
            _collect(evidence.setdefault(number, {"sentences": {}, "support": 0.0, "added": True}),
                     claim.text, by_number[number], added)
    citations = tuple(_citation(by_number[number], found) for number, found in evidence.items())
    return CheckedAnswer(" ".join(rendered), citations, tuple(notes), tuple(dict.fromkeys(restated)))


def _not_the_asked_figure(claim: str, question: str, cited: Sequence[Passage]) -> str | None:
    return next(filter(None, (figure_asked_elsewhere(claim, question, p.paper) for p in cited)), None)


def unfit_claim(claim: str, cited: Sequence[Passage], passages: Sequence[Passage]) -> str | None:
    """Why a sentence can't stand with the sources it ends up citing, or None: it speaks of several
    papers but cites one, or it states a number or name that the papers it cites never state (most
    often a fact of another source, said of this one)."""
    papers = [passage.paper for passage in {p.paper.id: p for p in cited}.values()]
    if _SEVERAL.search(claim) and len(papers) < 2:
        return f"it speaks of several papers but cites {'one' if papers else 'none'}"
    missing = missing_from(sorted(distinctive_tokens(claim)), papers)
    if not missing:
        return next(filter(None, (figures_unfit(claim, paper) for paper in papers)), None) \
            or _swapped_counterpart(claim, papers)
    said = ", ".join(missing)
    elsewhere = [p for p in passages if p.paper not in papers and not missing_from(missing, [p.paper])]
    if not papers:  # uncited: flagged as such unless it states what no source does
        return None if elsewhere or not missing_from(missing, [p.paper for p in passages]) else \
            f"no source states {said}"
    if elsewhere:
        return f"{said} is from {', '.join(f'[{p.number}]' for p in elsewhere)}, not from the paper it cites"
    return f"no source states {said}"


def figures_unfit(claim: str, paper: Paper) -> str | None:
    """Why the claim's figures or counts are not what the paper says of what the claim says, or None:
    a figure the paper gives for something else or in another role, or a count of another thing."""
    return (_figure_for_something_else(claim, paper) or figure_in_another_role(claim, paper)
            or figure_bound_elsewhere(claim, paper) or count_for_another_thing(claim, paper)
            or figure_of_another_measure(claim, paper))


def _figure_for_something_else(claim: str, paper: Paper) -> str | None:
    """Why the claim's figures are not the paper's figures for what it says, or None: the paper's
    sentence closest to the claim's words gives other figures, and the claim's come from a sentence
    about something else ("81.15% on the VQAv2 test-std set" where the test-std sentence says 78.73%)."""
    claimed = result_numbers(claim)
    given = figures_given_instead(content_stems(RESULT_NUMBER.sub(" ", claim)), claimed, paper)
    return given and (f"{', '.join(sorted(claimed))} is the paper's figure for something else; "
                      f"it gives {', '.join(sorted(given))} for this")


def _swapped_counterpart(claim: str, papers: Sequence[Paper]) -> str | None:
    """Why the claim gives a part to the wrong counterpart, or None: it says "<role> <noun>" ("decoder
    layers"), no cited paper has the role and the noun in one sentence, and one has the noun with the
    role's counterpart ("layers of the encoder")."""
    said = [content_stems(s) for paper in papers for s in [paper.title, *sentences(paper.abstract)]]
    tokens = _WORD_OR_MARK.findall(claim)
    for role, noun in zip(tokens, tokens[1:], strict=False):
        counterpart = _COUNTERPART.get(role.lower())
        nouns = content_stems(noun) if noun[:1].isalpha() and not noun.endswith(("'s", "’s")) else set()
        if counterpart is None or len(nouns) != 1:
            continue
        roles, others = content_stems(role), content_stems(counterpart)
        if not any(roles | nouns <= stems for stems in said) and any(others | nouns <= stems for stems in said):
            return f"it says “{role} {noun}”, but the paper it cites speaks of the {counterpart}'s {noun}"
    return None


def missing_from(tokens: Sequence[str], papers: Sequence[Paper]) -> list[str]:
    """The tokens that no title or abstract of `papers` holds as a word."""
    return missing_in(tokens, " ".join(f"{paper.title} {paper.abstract}" for paper in papers))


def missing_in(tokens: Sequence[str] | set[str], text: str) -> list[str]:
    """The tokens that `text` does not hold as a word."""
    words = _word_forms(text)
    return sorted(t for t in tokens if not {_core(t), _core(t).removesuffix("s")} & words)


def _sources_for(claim: _Claim, passages: Sequence[Passage],
                 by_number: dict[int, Passage]) -> tuple[list[int], bool, list[str]]:
    """The passage numbers a claim ends up citing, whether paperbrief added them, and notes."""
    named = list(dict.fromkeys(claim.numbers))
    notes = [f"removed [{n}]: there is no source {n}" for n in named if n not in by_number]
    valid = [n for n in named if n in by_number]
    if not content_stems(claim.text):
        return valid, False, notes  # "Yes." / "No.": nothing to check, the marker stands
    quoted, kept = _short(claim.text), []
    if len(set(valid)) >= 2 and _backed_jointly(claim.text, [by_number[n] for n in valid]):
        return list(dict.fromkeys(valid)), False, notes  # "Both [1] and [2] …": its sources together back it
    for number in valid:
        if _backs(claim.text, by_number[number], MIN_SUPPORT):
            kept.append(number)
            continue
        better = _best_backing(claim.text, passages, MIN_SUPPORT)
        if better is not None:
            notes.append(f"[{number}] changed to [{better}]: source {number} does not support {quoted}")
            kept.append(better)
        else:
            notes.append(f"removed [{number}]: source {number} does not support {quoted}")
    if valid:
        return list(dict.fromkeys(kept)), False, notes
    best = _best_backing(claim.text, passages, MIN_ADDED_SUPPORT)
    if best is None:
        return [], False, [*notes, f"no source supports {quoted}"]
    return [best], True, [*notes, f"[{best}] added by paperbrief: the model cited no source for {quoted}"]


def _backed_jointly(claim: str, cited: Sequence[Passage]) -> bool:
    """Whether the cited passages together hold the claim's content words and all its numbers and names."""
    words = content_stems(claim)
    together = " ".join(f"{p.paper.title} {p.text}" for p in cited)
    enough = bool(words) and len(words & content_stems(together)) / len(words) >= MIN_SUPPORT
    return enough and not missing_from(sorted(distinctive_tokens(claim)), [p.paper for p in cited])


def _backs(claim: str, passage: Passage, threshold: float) -> bool:
    return support(claim, passage) >= threshold and not missing_facts(claim, passage)


def _best_backing(claim: str, passages: Sequence[Passage], threshold: float) -> int | None:
    backing = [(support(claim, p), -p.number) for p in passages if _backs(claim, p, threshold)]
    return -max(backing)[1] if backing else None


def _collect(found: dict, claim: str, passage: Passage, added: bool) -> None:
    for sentence in best_sentences(claim, passage):
        found["sentences"][sentence.index] = sentence.text
    found["support"] = max(found["support"], support(claim, passage))
    found["added"] = found["added"] and added  # one claim the model cited itself makes it the model's


def _citation(passage: Passage, found: dict) -> Citation:
    indices = tuple(sorted(found["sentences"]))
    return Citation(
        number=passage.number, paper_id=passage.paper.id, title=passage.paper.title, url=passage.paper.url,
        sentence_indices=indices, sentences=tuple(found["sentences"][i] for i in indices),
        support=round(found["support"], 2), added=found["added"],
    )


def _with_markers(text: str, numbers: Sequence[int]) -> str:
    if not numbers:
        return text
    markers = "".join(f"[{n}]" for n in numbers)
    body, end = (text[:-1], text[-1]) if text[-1] in ".!?" else (text, "")
    return f"{body.rstrip()} {markers}{end}"


def _short(text: str, limit: int = 80) -> str:
    return "“" + (text if len(text) <= limit else text[: limit - 1].rstrip() + "…") + "”"
