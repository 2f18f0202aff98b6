"""Whether each paper of a scope is one a list question asks for, judged paper by paper.

A paper's standing on the topic is how far its best chunk's and its two best sentences' dense cosines
stand above the day's other papers, in standard deviations (averaged), plus the idf-weighted share of
the topic's words in its title and abstract. The clear cases are decided by the standing; the band
between by the standing with the model's judgement added: how much likelier the paper makes the reader's
question (query likelihood, read from the log-probabilities of the question's tokens).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from index.models import Paper
from index.text import STOPWORDS, points_at_code, query_terms
from service.compare_cells import background_sentences
from service.denied_topic import denies_topic
from service.engines.protocol import Generator
from service.guard import addresses_model, paper_block
from service.prompts import load_prompt
from service.search import best_score_per_paper, coverage, term_weights

# Papers from INCLUDE_STANDING are listed at once, papers below EXCLUDE_STANDING dropped; between them
# the model weighs in and LIST_LINE decides. Only the top CANDIDATES papers can be listed at all, and
# none below MIN_COSINE unless it stands out beyond FLOOR_EXEMPT_STANDING. Calibrated on the sample
# day's list questions and checked on fresh and blind sets (`python -m bench.list_calibration`;
# docs/BENCHMARKS.md, "List answers").
INCLUDE_STANDING = 2.4
EXCLUDE_STANDING = 1.6
LIST_LINE = 2.2
MIN_COSINE = 0.26
CANDIDATES = 8
# The floor keeps the borderline band from listing papers merely nearer than the rest to a topic the day
# lacks. A paper standing out this far passes it: a one-word topic ("music" against a lyrics paper: cosine
# 0.19) or a described one ("test their method on heart (cardiac) imaging data": 0.22) embeds far from
# any long abstract. Just above the include line, below the floor, stood papers of topics the day lacks
# ("sports analytics": 2.22 at cosine 0.17; docs/BENCHMARKS.md, sessions 27 and 28).
FLOOR_EXEMPT_STANDING = 2.3
TOP_SENTENCES = 2  # a paper's sentence cosine: the mean of its best two
# The model weighs in by query likelihood: how much likelier a paper makes the reader's question, in
# nats (`likelihood_gains`), each worth GAIN_WEIGHT of standing. Its yes/no on the same pairs was at
# chance on the blind list sets (docs/BENCHMARKS.md, session 30).
GAIN_WEIGHT = 0.07
SCORED_WORDS = 40  # a long question is scored on its opening: a token decoded per word, per paper
FIRST_ROUND = 1  # papers judged in the first round (see `decide`)
SMALL_SCOPE_GAIN = 8.0  # too few papers for a standing: the model's gain alone decides
NO_SCORER_COSINE = 0.45  # no log-probabilities (a remote server): a borderline paper listed from this cosine
MIN_PAPERS_FOR_STANDING = 8  # fewer papers than this: no spread to measure, the model judges each candidate
# A short topic ("GLUE", "image inpainting", "5G or wireless links") that a few papers' abstracts name
# verbatim lists those papers whatever their cosines: a reader asking for a term means the papers that
# say it, and a dense vector of a long abstract barely moves for one benchmark name in it. A term most
# of the day says is no topic of its own, so it decides nothing.
MENTION_WORDS = 4
MENTION_SHARE = 0.2
# An evidence sentence should say what the paper did about the topic; the abstract's opening lines on the
# field ("U-Net and its variants have been widely used in …") only say the topic exists.
OWN_BONUS = 0.1
# "We open source our model weights and code.": about the release, never why a paper fits a topic
_RELEASE = re.compile(r"\b(?:open[- ]?sourc\w*|releas\w*|available)\b[^.]*\b(?:code|weights|checkpoints)\b|"
                      r"\b(?:code|weights|checkpoints)\b[^.]*\b(?:open[- ]?sourc\w*|releas\w*|available)\b", re.IGNORECASE)

ScoreContinuations = Callable[[list[list[dict]], str], Sequence[Sequence[float]]]


@dataclass(frozen=True)
class Judged:
    paper: Paper
    cosine: float  # best chunk's dense cosine to the topic
    coverage: float  # idf-weighted share of the topic's words in title + abstract
    verdict: str  # "yes" | "no" | "maybe" (before the model) | "model-yes" | "model-no"
    standing: float | None = None  # see the module docstring (None: too few papers to tell)
    sentence_cosine: float = 0.0  # mean cosine of the paper's best two sentences

    @property
    def included(self) -> bool:
        return self.verdict in ("yes", "model-yes")

    @property
    def relevance(self) -> float:
        """The cosine with coverage: what a listed paper shows as its score."""
        return self.cosine + 0.5 * self.coverage

    @property
    def score(self) -> float:
        """What orders papers: the standing where there is one, else the relevance."""
        return self.standing if self.standing is not None else self.relevance


def judge_papers(library, topic: str, papers: Sequence[Paper]) -> list[Judged]:
    """Every paper's cosines, coverage and standing with the clear verdicts, best first."""
    if not papers:
        return []
    vector = np.asarray(library.searcher.query_vector(topic), dtype=np.float32)
    chunk = best_score_per_paper(library.vectors.query(list(vector), 20 * len(papers), [p.id for p in papers]))
    sentences = library.sentence_vectors.of(papers)
    weights = term_weights(library, topic)
    cosines = np.array([chunk.get(p.id, 0.0) for p in papers])
    per_sentence = np.array([_best_sentences(sentences[p.id].vectors, vector) for p in papers])
    covered = np.array([coverage(weights, f"{p.title} {p.abstract}") for p in papers])
    standings = _standings(cosines, per_sentence, covered)
    judged = [Judged(p, float(cosines[i]), float(covered[i]), "maybe",
                     None if standings is None else float(standings[i]), float(per_sentence[i]))
              for i, p in enumerate(papers)]
    judged.sort(key=lambda j: -j.score)
    named = naming_papers(topic, papers)
    judged = [replace(j, verdict="yes" if j.paper.id in named else _verdict(rank, j)) for rank, j in enumerate(judged)]
    wordings = topic_alternatives(topic)
    return [replace(j, verdict="no") if _unworded(j, wordings) or _denied(j, weights, topic, sentences) else j
            for j in judged]


def _denied(judged: Judged, weights: dict[str, float], topic: str, sentences: dict) -> bool:
    """A paper not already off the topic that says its words only to say it did without them (the abstract
    is read only for papers still in the running)."""
    if judged.verdict == "no":
        return False
    found = sentences[judged.paper.id].sentences
    return denies_topic(weights, topic, found, background_sentences(found), judged.paper.title)


def naming_papers(topic: str, papers: Sequence[Paper]) -> set[str]:
    """Ids of the papers whose title or abstract names one of the topic's short alternatives verbatim (or
    its acronym), when few of the scope's papers do."""
    named: set[str] = set()
    for phrase in topic_alternatives(topic):
        pattern = _mention_pattern(phrase)
        saying = {p.id for p in papers if pattern.search(f"{p.title}\n{p.abstract}")}
        if len(saying) <= max(1, MENTION_SHARE * len(papers)):
            named |= saying
    return named


def _unworded(judged: Judged, wordings: Sequence[list[str]]) -> bool:
    """A borderline paper of a day (a standing to be borderline by) that doesn't say the short topic. Such a
    paper (a crowd-counting paper's "target object" for "object detection", an image-segmentation paper for
    "graph neural networks") is near the topic in meaning but about something else, and the model's judgement
    hardly tells them apart (docs/BENCHMARKS.md, session 28); a paper standing clearly out is still listed
    in other words."""
    return judged.verdict == "maybe" and judged.standing is not None and not words_topic(wordings, judged.paper)


def words_topic(wordings: Sequence[list[str]], paper: Paper) -> bool:
    """Whether the paper's title or abstract says every content word of one of a short topic's
    alternatives, by its first letters ("segmentation" ~ "segment", "faces" ~ "face"); true for a
    longer topic, which has no alternatives to say."""
    if not wordings:
        return True
    said = {word.lower() for word in re.findall(r"[^\W_]+", f"{paper.title} {paper.abstract}")}
    return any(all(any(w.startswith(_word_key(word)) for w in said) for word in query_terms(" ".join(words)))
               for words in wordings)


def _word_key(word: str) -> str:
    """A word's first five letters without a plural s: what its other forms share."""
    word = word.lower()
    return (word[:-1] if len(word) > 3 and word.endswith("s") else word)[:5]


def topic_alternatives(topic: str) -> list[list[str]]:
    """The "X or Y" alternatives of a short topic as word lists, each naming something; none for a
    longer topic, which describes rather than names."""
    words = re.findall(r"[A-Za-z0-9][\w'’-]*|[^\sA-Za-z0-9]", topic)
    if len(words) > MENTION_WORDS * 2 - 1 or any(not w[0].isalnum() for w in words):
        return []
    parts, part = [], []
    for word in [*words, "or"]:
        if word.lower() != "or":
            part.append(word)
        else:
            parts.append(part)
            part = []
    return [part for part in parts if 0 < len(part) <= MENTION_WORDS and _names_something(part, len(parts) > 1)]


def _names_something(words: list[str], one_of_several: bool) -> bool:
    """Not stopwords alone; and one lowercase word beside an "or" is half of a longer phrase ("pretrain
    or fine-tune BERT models"), not a name."""
    if all(w.lower() in STOPWORDS for w in words):
        return False
    return not (one_of_several and len(words) == 1 and words[0].islower())


def _mention_pattern(words: list[str]) -> re.Pattern:
    """The phrase with any plural, in any case except its own acronyms ("GLUE" is not "glue"); or the
    acronym of a phrase of three or more words, as capitals, versions and plurals allowed ("VQAv2")."""
    phrase = r"\s+".join(_word_pattern(w) for w in words)
    acronym = "".join(w[0] for w in words if w.lower() not in STOPWORDS).upper()
    either = rf"{phrase}\b" + (rf"|{acronym}(?:v?\d+|s)?(?![A-Za-z])" if len(acronym) >= 3 else "")
    return re.compile(rf"(?<![\w-])(?:{either})")


def _word_pattern(word: str) -> str:
    if sum(c.isupper() for c in word) >= 2 or any(c.isdigit() for c in word):  # an acronym: its case
        return re.escape(word[:-1]) + "s?" if re.fullmatch(r"[A-Z0-9]+s", word) else re.escape(word)
    if len(word) > 3 and word.lower() not in STOPWORDS:
        return f"(?i:{re.escape(word.removesuffix('s'))}s?)"
    return f"(?i:{re.escape(word)})"


def _best_sentences(vectors: np.ndarray, topic: np.ndarray) -> float:
    if not len(vectors):
        return 0.0
    return float(np.sort(vectors @ topic)[-TOP_SENTENCES:].mean())


def _standings(cosines: np.ndarray, per_sentence: np.ndarray, covered: np.ndarray) -> np.ndarray | None:
    """Standard deviations above the day's mean, chunk and sentence cosines averaged, plus coverage."""
    if len(cosines) < MIN_PAPERS_FOR_STANDING or cosines.std() == 0 or per_sentence.std() == 0:
        return None
    z_chunk = (cosines - cosines.mean()) / cosines.std()
    z_sentence = (per_sentence - per_sentence.mean()) / per_sentence.std()
    return (z_chunk + z_sentence) / 2 + covered


def _verdict(rank: int, judged: Judged) -> str:
    far_out = judged.standing is not None and judged.standing >= FLOOR_EXEMPT_STANDING
    if rank >= CANDIDATES or (judged.cosine < MIN_COSINE and not far_out):
        return "no"
    if judged.standing is None:
        return "maybe"
    return "yes" if judged.standing >= INCLUDE_STANDING else "no" if judged.standing < EXCLUDE_STANDING else "maybe"


def decide(borderline: Sequence[Judged], question: str, generator: Generator | None,
           evidence_of: Callable[[str], Sequence[str]]) -> Iterator[Judged]:
    """The borderline papers decided, in their order, each round as soon as it is scored: by how much
    likelier each paper makes the question under the model (its title and best sentences, so prompts stay
    short), or by a cosine line where the model can't score a given reply (a remote server). The first
    round is the likeliest paper beside the no-paper prompt, so a list whose papers are all borderline
    shows its first line after two prompts, not after all of them; later rounds fill the slots batch
    work may take (on 2 cores, two rounds took no longer than one batch of all: docs/BENCHMARKS.md)."""
    scorer = getattr(generator, "score_continuations", None)
    if scorer is None or not borderline:
        yield from (replace(j, verdict="yes" if j.cosine >= NO_SCORER_COSINE else "no") for j in borderline)
        return
    likelihood = QuestionLikelihood(question, scorer)
    width = max(getattr(generator, "batch_width", 1), 1)
    start = 0
    while start < len(borderline):
        batch = borderline[start : start + (FIRST_ROUND if start == 0 else width)]
        start += len(batch)
        gains = likelihood.gains([(j.paper, evidence_of(j.paper.id)) for j in batch])
        for judged, gain in zip(batch, gains, strict=True):
            yield replace(judged, verdict="model-yes" if listed_after_judgement(judged.standing, gain) else "model-no")


def listed_after_judgement(standing: float | None, gain: float, weight: float = GAIN_WEIGHT,
                           line: float = LIST_LINE) -> bool:
    """Whether a borderline paper is listed, given the likelihood gain the model gives the question (the
    weight and line as shipped, or others to try: `bench.list_calibration`)."""
    if standing is None:
        return gain >= SMALL_SCOPE_GAIN
    return standing + weight * gain >= line


class QuestionLikelihood:
    """Per (paper, its best sentences): log P(question | paper) - log P(question | no paper), the question
    scored as the reply to "write a question this paper answers" (query likelihood). The no-paper score is
    taken once, beside the first papers scored."""

    def __init__(self, question: str, score_continuations: ScoreContinuations):
        self._prompt = load_prompt("question_likelihood")
        self._asked = " ".join(question.split()[:SCORED_WORDS])
        self._score = score_continuations
        self._without_paper: float | None = None

    def gains(self, papers: Sequence[tuple[Paper, Sequence[str]]]) -> list[float]:
        blocks = [paper_block(paper.title, " ".join(sentences), where=paper.id) for paper, sentences in papers]
        first = self._without_paper is None
        if first:
            blocks.insert(0, paper_block("", ""))
        scores = [sum(tokens) for tokens in self._score([self._prompt.render(paper=b) for b in blocks], self._asked)]
        if first:
            self._without_paper, scores = scores[0], scores[1:]
        return [score - self._without_paper for score in scores]


def likelihood_gains(papers: Sequence[tuple[Paper, Sequence[str]]], question: str,
                     score_continuations: ScoreContinuations) -> list[float]:
    """Every paper's gain (`QuestionLikelihood`), all decoded together."""
    return QuestionLikelihood(question, score_continuations).gains(papers)


def evidence(library, topic: str, papers: Sequence[Paper], count: int = 2) -> dict[str, list[tuple[int, str]]]:
    """Each paper's abstract sentences closest to the topic, best first: dense cosine, with the topic's
    rare words, a verbatim naming of the topic, and the authors' own voice as bonuses. Sentences that
    address a model or point at code are never chosen."""
    if not papers:
        return {}
    topic_vector = np.asarray(library.searcher.query_vector(topic), dtype=np.float32)
    weights = term_weights(library, topic)
    naming = [_mention_pattern(words) for words in topic_alternatives(topic)]
    found = {}
    for pid, kept in library.sentence_vectors.of(papers).items():
        cosines = kept.vectors @ topic_vector if len(kept.vectors) else []
        own = background_sentences(kept.sentences)  # from here on the abstract is about the paper
        scored = [(float(cosine) + 0.3 * coverage(weights, text) + OWN_BONUS * (index >= own)
                   + any(n.search(text) for n in naming), index, text)
                  for index, (text, cosine) in enumerate(zip(kept.sentences, cosines, strict=True))
                  if not addresses_model(text) and not points_at_code(text) and not _RELEASE.search(text)]
        if scored:
            found[pid] = [(index, text) for _, index, text in sorted(scored, key=lambda x: -x[0])[:count]]
    return found
