"""TL;DRs: one sentence (`tldr`) or 2–3 plain-language sentences (`plain`), batched and cached.

The model only writes the sentence; everything around it is code: prompts per paper, batching by
length, cleaning the output to the promised shape, and a cache keyed by (paper id, abstract hash,
model, prompt version, style) so nothing is computed twice.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from index.models import Paper
from index.sentences import sentences
from service.cache import OutputCache, cache_key
from service.generation import Generator, tuned_generator
from service.guard import injected_sentences, paper_block
from service.prompts import load_prompt

STYLES = {"tldr": ("tldr", 25, 1), "plain": ("plain", 90, 3)}  # prompt, word cap, sentence cap
MAX_NEW_TOKENS = {"tldr": 48, "plain": 140}
BATCH_SIZE = 8  # batched decode on CPU roughly doubles throughput; more mostly adds padding
_PREFIX = re.compile(r"^\s*(\*\*)?(tl;?dr|summary|plain[- ]language summary)\s*[:\-–]\s*(\*\*)?\s*", re.I)
CONSENSUS = "consensus@1"  # how plain and tuned drafts are combined; part of the cache key
_CONTRIBUTION = re.compile(r"\b(we|this paper|this work)\s+(propose|present|introduce|develop|show|find)", re.I)

ExampleSelector = Callable[[Paper], str]  # returns rendered few-shot examples (may be "")


@dataclass(frozen=True)
class Summary:
    paper: Paper
    text: str
    style: str
    cached: bool


def check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"unknown TL;DR style {style!r}; use one of: {', '.join(STYLES)}")


def summarise(papers: Sequence[Paper], generator: Generator, cache: OutputCache, style: str = "tldr",
              refresh: bool = False, examples: ExampleSelector | None = None,
              batch_size: int = BATCH_SIZE) -> Iterator[Summary]:
    """Yield a Summary per paper: cached ones first, then each batch as it finishes."""
    check_style(style)
    prompt = load_prompt(STYLES[style][0])
    tuned = tuned_generator(generator, style) if style == "tldr" else None
    keys = {p.id: cache_key(p.id, p.abstract_hash, drafting_key(generator, style), prompt.key, style) for p in papers}
    todo = []
    for paper in papers:
        hit = None if refresh else cache.get("tldr", keys[paper.id])
        if hit is not None:
            yield Summary(paper, hit, style, cached=True)
        else:
            todo.append(paper)
    todo.sort(key=lambda p: len(p.abstract))  # similar lengths batch with little padding
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        messages = [render_messages(paper, style, examples) for paper in batch]
        drafts = _drafts(batch, messages, generator, style)
        if tuned is not None:
            tuned_drafts = _drafts(batch, messages, tuned, style)
            drafts = [consensus([plain, tuned_draft], referees=[contribution_sentence(paper)])
                      for paper, plain, tuned_draft in zip(batch, drafts, tuned_drafts)]
        for paper, text in zip(batch, drafts):
            cache.put("tldr", keys[paper.id], text)
            yield Summary(paper, text, style, cached=False)


def drafting_key(generator: Generator, style: str) -> str:
    """Which model(s) write a TL;DR of this style, and how drafts are combined: part of cache keys."""
    tuned = tuned_generator(generator, style) if style == "tldr" else None
    return generator.name if tuned is None else f"{generator.name} & {tuned.name} ({CONSENSUS})"


def _drafts(batch: Sequence[Paper], messages: list, generator: Generator, style: str) -> list[str]:
    outputs = generator.generate(messages, max_new_tokens=MAX_NEW_TOKENS[style], stop=["\n\n", "<paper>"])
    return [clean_summary(raw, paper, style) for paper, raw in zip(batch, outputs)]


def consensus(candidates: Sequence[str], referees: Sequence[str] = ()) -> str:
    """The candidate that agrees most with the other texts (minimum-Bayes-risk choice).

    Agreement is ROUGE-1 + ROUGE-2 F (stemmed) averaged over the other candidates and the referees;
    ties keep the earlier candidate. Two drafts that disagree are settled by which one is closer to
    the abstract's own contribution sentence: on SciTLDR dev this beats either draft alone
    (docs/BENCHMARKS.md, "TL;DR quality").
    """
    texts = list(candidates) + list(referees)

    def agreement(index: int) -> float:
        others = [text for k, text in enumerate(texts) if k != index]
        return sum(_overlap(candidates[index], other) for other in others) / max(1, len(others))

    return candidates[max(range(len(candidates)), key=lambda k: (agreement(k), -k))]


def _overlap(one: str, other: str) -> float:
    scores = _scorer().score(other, one)
    return scores["rouge1"].fmeasure + scores["rouge2"].fmeasure


@functools.cache
def _scorer():
    from rouge_score import rouge_scorer  # imported on first use: it loads nltk's stemmer

    return rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)


def render_messages(paper: Paper, style: str, examples: ExampleSelector | None = None) -> list[dict[str, str]]:
    prompt = load_prompt(STYLES[style][0])
    values = {"paper": paper_block(paper.title, paper.abstract, where=paper.id)}
    if "examples" in prompt.variables:
        values["examples"] = examples(paper) if examples else ""
    return prompt.render(**values)


def clean_summary(raw: str, paper: Paper, style: str) -> str:
    """The model's text cut to the promised shape; an extractive sentence if it gave nothing usable."""
    _, word_cap, sentence_cap = STYLES[style]
    if injected_sentences(raw):
        return extractive_fallback(paper)
    text = _PREFIX.sub("", raw.strip().strip('"“”').strip())
    text = " ".join(text.split())
    parts = sentences(text)[:sentence_cap]
    text = " ".join(parts)
    words = text.split()
    if len(words) > word_cap + 10:  # far over the cap: cut at the cap, end cleanly
        text = " ".join(words[:word_cap]).rstrip(",;:") + "…"
    if not text or _too_far_from(text, paper):
        return extractive_fallback(paper)
    return text


def _too_far_from(text: str, paper: Paper) -> bool:
    """A summary sharing almost no content word with the paper is not a summary of it."""
    words = {w for w in re.findall(r"[a-z]{4,}", text.lower())}
    source = set(re.findall(r"[a-z]{4,}", f"{paper.title} {paper.abstract}".lower()))
    return len(words) >= 4 and len(words & source) / len(words) < 0.2


def contribution_sentence(paper: Paper) -> str:
    """The sentence stating the contribution ('we propose …'), else the first sentence."""
    found = sentences(paper.abstract)
    for sentence in found:
        if _CONTRIBUTION.search(sentence):
            return sentence
    return found[0] if found else paper.title


extractive_fallback = contribution_sentence  # the TL;DR when the model gives nothing usable
