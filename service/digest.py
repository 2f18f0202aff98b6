"""The day's papers grouped by topic, each with its TL;DR, as email-ready Markdown.

Grouping is code (k-means on the papers' embeddings, k chosen by silhouette); the model only names
each group from its titles, and a label that fails the check is replaced by the group's most
distinctive shared title words. TL;DRs come from a `summarise` callable (service.tldr in the app).
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, ValidationError

from index.models import Paper
from index.text import stem
from service.engines.protocol import Generator
from service.guard import injected_sentences, neutralise, strip_injections
from service.prompts import load_prompt
from service.tldr import extractive_fallback

log = logging.getLogger(__name__)

Summariser = Callable[[list[Paper]], Iterator[tuple[Paper, str]]]
Progress = Callable[[int, int], None]

MAX_TOPICS = 8
MIN_PER_TOPIC = 3  # k is tried up to n / 3: smaller groups are rarely topics
MIN_SILHOUETTE = 0.05  # random 384-d unit vectors score ≈0.02, the sample day ≈0.16: below, one list
LABEL_TOKENS = 16
MAX_LABEL_TITLES = 20  # the group's most upvoted titles are enough to name it, and keep the prompt short
MIN_LABEL_COVERAGE = 0.25  # share of the group's titles that must contain a word of the label
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-+]*")
_STOP_WORDS = (
    "a an and are as at be by can do for from how in into is it its of on or the to toward towards via vs what "
    "when where which with without your our we you us all any using based new novel study approach approaches "
    "method methods model models learning paper papers beyond more than not need exploring rethinking "
    "improving unveiling introducing advancing building revisiting"
)
_STOP = frozenset(_STOP_WORDS.split())  # words that name no topic
_PHRASE_BREAK = re.compile(r"\b(?:" + "|".join(sorted(_STOP)) + r")\b|[:;,.?!()]", re.IGNORECASE)
_META = re.compile(r"\b(papers?|titles?|topics?|groups?|labels?)\b", re.IGNORECASE)


def _label_shape(text: str) -> str:
    words = text.split()
    if not 2 <= len(words) <= 5:
        raise ValueError("a topic label has 2 to 5 words")
    if _META.search(text) or not all(_WORD.fullmatch(w.strip("&,/")) or w in {"&", "/"} for w in words):
        raise ValueError("a topic label is plain words naming a research topic")
    return text


class TopicLabelReply(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=60),
                     AfterValidator(_label_shape)]


@dataclass(frozen=True)
class TopicGroup:
    label: str
    label_origin: str  # "model" (checked) or "title-words" (fallback)
    papers: tuple[Paper, ...]


@dataclass(frozen=True)
class DigestEntry:
    paper: Paper
    tldr: str
    tldr_origin: str  # "summary", or "abstract" when the summariser gave nothing for this paper


@dataclass(frozen=True)
class DigestTopic:
    label: str
    label_origin: str
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True)
class Digest:
    days: tuple[date, date]
    topics: tuple[DigestTopic, ...]

    @property
    def paper_count(self) -> int:
        return sum(len(topic.entries) for topic in self.topics)


# --- grouping ---------------------------------------------------------------------------------------


def paper_vectors(library, papers: Sequence[Paper]) -> np.ndarray:
    """Unit vectors of 'title. abstract' (what a reader would call the paper's topic)."""
    return library.embedder.embed_batch([f"{p.title}. {p.abstract}" for p in papers])


def choose_clusters(vectors: np.ndarray, max_topics: int = MAX_TOPICS) -> np.ndarray:
    """Cluster label per row: k-means for k = 2..min(max, n/3), the k with the best cosine silhouette."""
    from sklearn.cluster import KMeans  # sklearn is slow to import; only digests need it
    from sklearn.metrics import silhouette_score

    n = len(vectors)
    best_labels, best_score = np.zeros(n, dtype=int), MIN_SILHOUETTE
    for k in range(2, min(max_topics, n // MIN_PER_TOPIC) + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(vectors)
        if len(set(labels)) < 2:
            continue
        score = silhouette_score(vectors, labels, metric="cosine")
        if score > best_score + 1e-9:
            best_labels, best_score = labels, score
    return best_labels


def group_papers(papers: Sequence[Paper], vectors: np.ndarray) -> list[list[Paper]]:
    """Papers per cluster, biggest cluster first; within one, most upvoted first, else as given."""
    labels = choose_clusters(vectors) if len(papers) else np.zeros(0, dtype=int)
    groups: dict[int, list[Paper]] = {}
    for paper, label in zip(papers, labels, strict=True):
        groups.setdefault(int(label), []).append(paper)
    ordered = sorted(groups.values(), key=lambda group: -len(group))
    return [sorted(group, key=lambda p: -(p.upvotes or 0)) for group in ordered]


# --- labels -----------------------------------------------------------------------------------------


def label_groups(groups: Sequence[Sequence[Paper]], generator: Generator | None) -> list[tuple[str, str]]:
    """(label, origin) per group: one batched generation, each label checked, distinct across groups."""
    prompt = load_prompt("topic_label")
    replies = [""] * len(groups)
    if generator is not None and len(groups) > 1:  # one group needs no name beyond the day itself
        batch = [prompt.render(titles=_titles_block(group)) for group in groups]
        replies = generator.generate(batch, max_new_tokens=LABEL_TOKENS, stop=["\n"])
    labels: list[tuple[str, str]] = []
    for index, (group, reply) in enumerate(zip(groups, replies, strict=True)):
        label = check_label(reply, group)
        if label is None or label.lower() in {seen.lower() for seen, _ in labels}:
            others = [p for j, g in enumerate(groups) if j != index for p in g]
            labels.append((fallback_label(group, others), "title-words"))
        else:
            labels.append((label, "model"))
    return labels


def _titles_block(group: Sequence[Paper]) -> str:
    titles = "\n".join(f"- {neutralise(strip_injections(p.title, p.id))}" for p in group[:MAX_LABEL_TITLES])
    return f"<paper>\n{titles}\n</paper>"


def check_label(reply: str, group: Sequence[Paper]) -> str | None:
    """The cleaned label if it has the promised shape and shares a word with enough of the group's titles."""
    text = reply.strip().splitlines()[0] if reply.strip() else ""
    text = re.sub(r"^(topic|label|topic label)\s*:\s*", "", text.strip("*#` "), flags=re.IGNORECASE)
    text = text.rstrip(".").strip("\"'“”*` ").rstrip(".")
    try:
        label = TopicLabelReply(label=text).label
    except ValidationError:
        return None
    label_stems = {stem(w.lower()) for w in _words(label)}
    named = sum(bool(label_stems & {stem(w.lower()) for w in _words(p.title)}) for p in group)
    # A label must fit the group: "Speech Recognition" for 16 papers of which 2 are on speech does not.
    if named < max(1, MIN_LABEL_COVERAGE * len(group)) or injected_sentences(label):
        return None
    return label[0].upper() + label[1:]


def fallback_label(group: Sequence[Paper], others: Sequence[Paper]) -> str:
    """The group's most distinctive shared title phrase (1–3 words), scored tf-idf-like against all titles."""
    inside = [_title_phrases(p.title) for p in group]
    everyone = inside + [_title_phrases(p.title) for p in others]
    counts = Counter(key for phrases in inside for key in phrases)

    def rarity(stem: str) -> float:  # alone (one group), every word is as telling as any other
        spread = sum(any(stem in key for key in phrases) for phrases in everyone)
        return math.log((1 + len(everyone)) / (1 + spread)) if others else 1.0

    def score(key: tuple[str, ...]) -> float:
        mean_rarity = sum(rarity(stem) for stem in key) / len(key)
        return counts[key] / len(inside) * mean_rarity * (1 + 0.5 * (len(key) - 1))  # phrases read better

    def best_of(titles: list[dict[tuple[str, ...], str]]) -> tuple[str, ...] | None:
        shared = [key for key in counts if sum(key in t for t in titles) >= min(2, len(group)) and score(key) > 0]
        candidates = shared or [key for key in counts if score(key) > 0 and any(key in t for t in titles)]
        return max(candidates, key=lambda key: (score(key), len(key)), default=None)

    first = best_of(inside)
    if first is None:
        return "Other papers"
    label = _surface(first, inside)
    rest = [phrases for phrases in inside if first not in phrases]
    if len(rest) > len(inside) / 2 and (second := best_of(rest)) and sum(second in t for t in rest) >= 2:
        label += " & " + _surface(second, rest)  # one phrase names under half the group: add the next
    return label


def _surface(key: tuple[str, ...], titles: list[dict[tuple[str, ...], str]]) -> str:
    words = next(phrases[key] for phrases in titles if key in phrases).split()
    return " ".join(word[0].upper() + word[1:] for word in words)


def _title_phrases(title: str) -> dict[tuple[str, ...], str]:
    """Runs of 1–3 consecutive content words of a title: stem tuple -> the words as written."""
    phrases: dict[tuple[str, ...], str] = {}
    for run in _PHRASE_BREAK.split(title):
        words = [w for w in _WORD.findall(run) if _is_content(w)]
        for size in (1, 2, 3):
            for start in range(len(words) - size + 1):
                chunk = words[start : start + size]
                phrases.setdefault(tuple(stem(w.lower()) for w in chunk), " ".join(chunk))
    return phrases


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text) if w.lower() not in _STOP and _is_content(w)]


def _is_content(word: str) -> bool:
    return len(word) > 2 or (len(word) == 2 and not word.islower())  # keeps "3D", "AI"


def topic_groups(library, generator: Generator | None, papers: Sequence[Paper]) -> list[TopicGroup]:
    """The papers grouped and labelled (no TL;DRs yet), e.g. for a page that fills them in later."""
    groups = group_papers(papers, paper_vectors(library, papers)) if papers else []
    labels = label_groups(groups, generator)
    return [TopicGroup(label, origin, tuple(group)) for (label, origin), group in zip(labels, groups, strict=True)]


# --- the digest -------------------------------------------------------------------------------------


def build_digest(library, generator: Generator | None, days: tuple[date, date], summarise: Summariser,
                 sources: Sequence[str] = (), progress: Progress | None = None) -> Digest:
    """The papers of `days` grouped by topic, each with its TL;DR (`generator=None`: title-word labels)."""
    papers = library.papers(days, sources)
    groups = topic_groups(library, generator, papers)
    tldrs = collect_tldrs(papers, summarise, progress)
    topics = tuple(
        DigestTopic(group.label, group.label_origin, tuple(_entry(p, tldrs.get(p.id)) for p in group.papers))
        for group in groups
    )
    return Digest(days, topics)


def collect_tldrs(papers: Sequence[Paper], summarise: Summariser, progress: Progress | None = None) -> dict[str, str]:
    found: dict[str, str] = {}
    if progress:
        progress(0, len(papers))
    for paper, text in summarise(list(papers)) if papers else ():
        found[paper.id] = text
        if progress:
            progress(len(found), len(papers))
    return found


def _entry(paper: Paper, tldr: str | None) -> DigestEntry:
    if tldr and tldr.strip():
        return DigestEntry(paper, " ".join(tldr.split()), "summary")
    log.warning("no TL;DR for %s: using its contribution sentence", paper.id)
    return DigestEntry(paper, extractive_fallback(paper), "abstract")


def extractive_tldrs(papers: list[Paper]) -> Iterator[tuple[Paper, str]]:
    """A model-free summariser (`digest --no-model`): each abstract's contribution or first sentence."""
    return ((paper, extractive_fallback(paper)) for paper in papers)


# --- Markdown -----------------------------------------------------------------------------------------


def digest_markdown(digest: Digest) -> str:
    """Plain Markdown (no HTML) that reads well as an email, rendered or not."""
    when = describe_days(digest.days)
    if not digest.topics:
        return f"# Papers of {when}\n\nNo papers for {when}.\n"
    count, topics = digest.paper_count, len(digest.topics)
    lines = [f"# Papers of {when}", "",
             f"{count} paper{'s' * (count != 1)} in {topics} topic{'s' * (topics != 1)}."]
    for topic in digest.topics:
        lines += ["", f"## {_escape(topic.label)} ({len(topic.entries)})", ""]
        lines += [f"- {_paper_link(entry.paper)}: {_escape(entry.tldr)}" for entry in topic.entries]
    return "\n".join(lines) + "\n"


def describe_days(days: tuple[date, date]) -> str:
    start, end = days
    if start == end:
        return start.isoformat()
    if start == date.min:
        return f"up to {end.isoformat()}"
    if end == date.max:
        return f"since {start.isoformat()}"
    return f"{start.isoformat()} to {end.isoformat()}"


def _paper_link(paper: Paper) -> str:
    title = _escape(" ".join(paper.title.split()))
    url = paper.url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"**[{title}]({url})**" if url else f"**{title}**"


def _escape(text: str) -> str:
    """Markdown-escape model and feed text; angle brackets become ‹ › so no HTML reaches the email."""
    text = re.sub(r"([\\`*_\[\]#|])", r"\\\1", " ".join(text.split()))
    return text.replace("<", "‹").replace(">", "›")
