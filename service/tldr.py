"""TL;DRs: one sentence (`tldr`) or 2–3 plain-language sentences (`plain`), cached.

The model only writes the sentence; everything around it is code: prompts per paper, one paper a
request on an engine with slots (else batches by length), cleaning the output to the promised shape, a TL;DR that only restates the title written again
from the abstract alone, a plain summary's sentences that say what the paper doesn't dropped
(`service/plain_checks.py`), the paper's result added where the abstract states one and the TL;DR doesn't
(`service/tldr_checks.py`), and a cache keyed by (paper id, abstract hash, model, prompt versions,
style) so nothing is computed twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from index.models import Paper
from index.text import points_at_code, sentences
from service.cache import OutputCache, cache_key
from service.engines.protocol import Generator, tuned_generator
from service.guard import injected_sentences, paper_block
from service.plain_checks import supported_sentences
from service.prompts import load_prompt
from service.tldr_checks import echoes_title, states_problem_only, unescaped_percent, with_results

STYLES = {"tldr": ("tldr", 30, 1), "plain": ("plain", 100, 3)}  # prompt, word limit, sentence limit
# Part of the cache key: bump when the rules that choose and cut outputs change, since the cached
# texts were shaped by the old ones (2: TL;DRs ≤ 30 words, the best beam that fits; 3: a final full stop;
# 4: no title echo, the result added; 5: never the problem alone; 6: written from at most SOURCE_WORDS words;
# 7: the result stated in code; 8: plain sentences saying what the paper doesn't dropped; 9: a result
# stated from its subject, without its reporting frame; a plain summary in the third person, naming "the authors"
# when it would open on "They").
SHAPING_VERSION = 9
MAX_NEW_TOKENS = {"tldr": 48, "plain": 140}
BATCH_SIZE = 8  # batched decode on CPU roughly doubles throughput; more mostly adds padding
# A one-sentence TL;DR is written from at most this many of the abstract's words: reading the prompt is
# most of a TL;DR's time on a CPU, and the sentences left out seldom hold what the TL;DR says
# (docs/BENCHMARKS.md, session 13, "Where the 30 TL;DRs' time went").
SOURCE_WORDS = 80
_AUTHORS_SPEAK = re.compile(r"\b(?:we|our|us|this (?:paper|work|study|article))\b", re.I)
_ENDED = re.compile(r"[.!?…][\"'”’)\]]*$")
_PREFIX = re.compile(r"^\s*(\*\*)?(tl;?dr|summary|plain[- ]language summary)\s*[:\-–]\s*(\*\*)?\s*", re.I)
_CONTRIBUTION = re.compile(r"\b(we|this paper|this work)\s+"
                            r"(propose|present|introduce|develop|devise|design|build|show|find)", re.I)
# "To solve this problem, we …", "In this paper, we …": read alone, a TL;DR can't lean on what came before.
_LEANING_OPENING = re.compile(r"^(?:to (?:this end|the end|solve|address|tackle|overcome|fill)[^,]{0,40}|"
                              r"in this (?:paper|work|study)|here|therefore|thus|hence|specifically),\s+", re.I)
_AUTHORS_PRONOUN = re.compile(r"^(?:They|Their)\b")  # a plain summary opening on a pronoun names whom it means
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
    writer = tldr_writer(generator, style)
    keys = {p.id: cache_key(p.id, p.abstract_hash, writer.name, prompt.key, style, SHAPING_VERSION)
            for p in papers}
    todo = []
    for paper in papers:
        hit = None if refresh else cache.get("tldr", keys[paper.id])
        if hit is not None:
            yield Summary(paper, hit, style, cached=True)
        else:
            todo.append(paper)
    todo.sort(key=lambda p: len(p.abstract))  # similar lengths batch with little padding
    for paper, text in _written_each(todo, writer, generator, style, examples, batch_size):
        cache.put("tldr", keys[paper.id], text)
        yield Summary(paper, text, style, cached=False)


def _written_each(papers: Sequence[Paper], writer: Generator, generator: Generator, style: str,
                  examples: ExampleSelector | None, batch_size: int) -> Iterator[tuple[Paper, str]]:
    """Each paper with its TL;DR, in order. An engine serving several requests at once (llama.cpp's
    slots, `BatchWidth`) gets one paper a request on the slots it gives batch work, so no paper waits
    for a batch's slowest one and a question asked meanwhile starts at once; others get batches of
    `batch_size`."""
    width = getattr(generator, "batch_width", 1)
    if width < 2:
        for start in range(0, len(papers), batch_size):
            batch = papers[start : start + batch_size]
            yield from zip(batch, _written(batch, writer, style, examples), strict=True)
        return
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="paperbrief-tldr")
    try:
        futures = [pool.submit(_written, [paper], writer, style, examples) for paper in papers]
        for paper, future in zip(papers, futures, strict=True):
            yield paper, future.result()[0]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # a reader that stops early stops the rest


def _written(batch: Sequence[Paper], writer: Generator, style: str, examples: ExampleSelector | None) -> list[str]:
    """The batch's TL;DRs: drafted, chosen, written again without the title where they only restate
    it (the extractive sentence if still), and with the paper's result where it is missing."""
    messages = [render_messages(paper, style, examples) for paper in batch]
    texts = [choose_summary(c, p, style) for p, c in zip(batch, _candidates(writer, messages, style), strict=True)]
    echoing = [i for i, (p, t) in enumerate(zip(batch, texts, strict=True)) if echoes_title(t, p.title)]
    if echoing:
        untitled = [replace(batch[i], title="") for i in echoing]
        drafts = _candidates(writer, [render_messages(p, style, examples) for p in untitled], style)
        for i, paper, candidates in zip(echoing, untitled, drafts, strict=True):
            again = choose_summary(candidates, paper, style)
            texts[i] = extractive_fallback(batch[i]) if echoes_title(again, batch[i].title) else again
    texts = [_past_the_problem(text, paper, style) for text, paper in zip(texts, batch, strict=True)]
    texts = [_supported(text, paper, style) for text, paper in zip(texts, batch, strict=True)]
    # a plain summary speaks of "the authors", a one-sentence TL;DR in their voice ("We propose …")
    return with_results(texts, [p.abstract for p in batch], keep_sentences=STYLES[style][2] - 1,
                        third_person=style == "plain")


def _past_the_problem(text: str, paper: Paper, style: str) -> str:
    """A one-sentence TL;DR that names only the problem the paper studies gives way to the abstract's
    sentence on what the authors did, when it has one."""
    if style != "tldr" or not states_problem_only(text):
        return text
    done = extractive_fallback(paper)
    return text if states_problem_only(done) or not _CONTRIBUTION.search(done) else _cut(done, style)


def _supported(text: str, paper: Paper, style: str) -> str:
    """A plain summary without the sentences that say what the paper doesn't (service/plain_checks.py),
    opening with who "they" are when its first sentence went; the abstract's contribution sentence when
    none is left."""
    if style != "plain":
        return text
    kept = supported_sentences(text, paper.title, paper.abstract)
    return _AUTHORS_PRONOUN.sub(_named_authors, kept, count=1) if kept else _cut(extractive_fallback(paper), style)


def _named_authors(pronoun: re.Match) -> str:
    return {"They": "The authors", "Their": "The authors'"}[pronoun.group(0)]


def tldr_writer(generator: Generator, style: str) -> Generator:
    """The generator that writes this style: the generator's variant tuned for it when it has one (the
    bundled model's LoRA adapters: SciTLDR author TL;DRs for `tldr`, plain summaries written by the
    bundled 1.5B model for `plain`; what each gains is in docs/BENCHMARKS.md), else the generator itself."""
    return tuned_generator(generator, style) or generator


def _candidates(writer: Generator, messages: list, style: str) -> list[list[str]]:
    """Each paper's drafts, best first: every beam when the writer searches several, else one."""
    options = {"max_new_tokens": MAX_NEW_TOKENS[style], "stop": ["\n\n", "<paper>"]}
    generate_candidates = getattr(writer, "generate_candidates", None)
    if generate_candidates is not None:
        return generate_candidates(messages, **options)
    return [[text] for text in writer.generate(messages, **options)]


def render_messages(paper: Paper, style: str, examples: ExampleSelector | None = None,
                    words: int | None = SOURCE_WORDS) -> list[dict[str, str]]:
    """The style's prompt for the paper; a one-sentence TL;DR's reads at most `words` words of the
    abstract (None: all of it, as the shipped adapter was trained)."""
    prompt = load_prompt(STYLES[style][0])
    abstract = tldr_source(paper.abstract, words) if style == "tldr" and words else paper.abstract
    values = {"paper": paper_block(paper.title, abstract, where=paper.id)}
    if "examples" in prompt.variables:
        values["examples"] = examples(paper) if examples else ""
    return prompt.render(**values)


def tldr_source(abstract: str, budget: int = SOURCE_WORDS) -> str:
    """The abstract's sentences a one-sentence TL;DR is written from, in their order, within `budget`
    words. Sentences are dropped until it fits: first those where the authors don't speak, from the end
    and the opening one last (it frames the problem); then the authors' own ("we", "our", "this paper"),
    which on SciTLDR train hold the sentence closest to the authors' TL;DR 2–4 times as often. One stays."""
    found, words = sentences(abstract), len(abstract.split())
    if words <= budget or len(found) <= 1:
        return abstract
    order = sorted(range(len(found)), key=lambda i: (bool(_AUTHORS_SPEAK.search(found[i])), i == 0, -i))
    kept = set(range(len(found)))
    for i in order[:-1]:
        if words <= budget:
            break
        kept.discard(i)
        words -= len(found[i].split())
    return " ".join(sentence for i, sentence in enumerate(found) if i in kept)


def choose_summary(candidates: Sequence[str], paper: Paper, style: str) -> str:
    """The best-ranked draft that has the promised shape within the word limit as it stands (a
    slightly lower-ranked whole sentence scores better on SciTLDR dev than the top draft cut short;
    docs/BENCHMARKS.md); else the best-ranked usable draft cut at the limit, or the
    extractive fallback when no draft is usable."""
    shaped = [_shaped(raw, paper, style) for raw in candidates]
    fitting = [text for text in shaped if text and len(text.split()) <= STYLES[style][1]]
    usable = [text for text in shaped if text]
    return fitting[0] if fitting else _cut(usable[0] if usable else extractive_fallback(paper), style)


def clean_summary(raw: str, paper: Paper, style: str) -> str:
    """The model's text cut to the promised shape; an extractive sentence if it gave nothing usable."""
    return _cut(_shaped(raw, paper, style) or extractive_fallback(paper), style)


def _cut(text: str, style: str) -> str:
    """At most the style's word limit: cut there and end cleanly."""
    words, limit = text.split(), STYLES[style][1]
    return text if len(words) <= limit else " ".join(words[:limit]).rstrip(",;:") + "…"


def _shaped(raw: str, paper: Paper, style: str) -> str:
    """The model's text without a label or quotes, to the style's sentence limit ("" if unusable)."""
    if injected_sentences(raw):
        return ""
    text = unescaped_percent(_PREFIX.sub("", raw.strip().strip('"“”').strip()))
    said = [s for s in sentences(" ".join(text.split())) if not points_at_code(s)]  # "code is at https://…"
    text = " ".join(said[: STYLES[style][2]])
    if text and not _ENDED.search(text):
        # the tuned writer learned from author TL;DRs, some without a full stop (1 in 6 of its outputs)
        text = text.rstrip(",;:– ")
        text = f"{text}." if text else ""
    return "" if not text or _too_far_from(text, paper) else text


def _too_far_from(text: str, paper: Paper) -> bool:
    """A summary sharing almost no content word with the paper is not a summary of it."""
    words = {w for w in re.findall(r"[a-z]{4,}", text.lower())}
    source = set(re.findall(r"[a-z]{4,}", f"{paper.title} {paper.abstract}".lower()))
    return len(words) >= 4 and len(words & source) / len(words) < 0.2



def extractive_fallback(paper: Paper) -> str:
    """The sentence stating the contribution ('we propose …') without an opening that leans on the
    sentence before it ("To solve this problem, …"), else the first sentence."""
    found = sentences(paper.abstract)
    for sentence in found:
        if _CONTRIBUTION.search(sentence):
            rest = _LEANING_OPENING.sub("", sentence)
            return rest[:1].upper() + rest[1:] if _CONTRIBUTION.search(rest) else sentence
    return found[0] if found else paper.title
