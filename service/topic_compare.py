"""Compare questions over a topic instead of named papers ("Compare the medical image segmentation papers",
"How do today's speech papers differ?", "Contrast the two retrieval approaches"): the topic's papers are
found as a list question finds them (`service.listing`), then compared as named ones are
(`service.compare_answer`), the answer opening with which papers the topic brought. Fewer than two: the
answer says so, with the one paper it found, cited.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from index.text import STOPWORDS
from service.ask_records import Answer, AskEvent, Retrieval, Sources, Token
from service.compare import MIN_PAPERS
from service.compare_answer import compare_answer, question_aspect
from service.engines.protocol import Generator
from service.listing import default_scope, listed_papers, listing_result, scope_name, topic_of
from service.question_kinds import COMPARE, LIST
from service.search import ALL_PAPERS, SearchFilter

TOPIC_LIMIT = 5  # papers a topic's comparison takes: its table costs a model extraction per paper
SHORT_TOPIC_WORDS = 4  # a longer topic is a description, quoted in the answer rather than said "about"
# The papers a question compares as a set: a plural of what the day's papers are ("the speech papers").
_SET = re.compile(r"\b(?:papers|works|studies|methods|approaches|models|architectures|techniques|systems|"
                  r"frameworks|ones|entries|submissions)\b", re.IGNORECASE)
_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "2": 2, "3": 3, "4": 4, "5": 5}
_COUNT = re.compile(rf"\b(?:the|today's|today’s|these)?\s*({'|'.join(_COUNTS)})\b"
                    rf"(?=(?:\s+of\s+(?:the|today's|today’s|these))?[\w\s-]*\b{_SET.pattern})", re.IGNORECASE)
# A compare question's own words: what is left names the set ("the medical image segmentation papers").
_COMPARE_FRAME = re.compile(
    r"\b(?:compare|contrast|comparison of|how (?:do|does|did)|in what ways? do|what(?:'s|’s| is| are) the "
    r"(?:main |key )?(?:differences?|similarities) (?:between|among|of)|(?:differences?|similarities) "
    r"(?:between|among|of)|differ(?:ent|ences?)?|(?:please )?(?:provide|give|write)(?: me)? (?:an? )?"
    r"(?:comparative )?(?:summary|overview|comparison) of|comparative|(?:from|with|to) (?:each other|one another)|all|each|both)\b",
    re.IGNORECASE)

# What the papers are compared on, after the verb ("differ in how they upsample"); the aspect, not the topic.
_ASPECT = re.compile(r"\b(?:differ|compare|contrast)\w*\s+(?:in|on|with respect to|regarding|when it comes to)\b.*$",
                     re.IGNORECASE)
# Where a sentence's parts meet: a dash, a colon ("The speech papers: how do they differ?").
_PARTS = re.compile(r"\s+[—–-]\s+|:\s*")
_WHEN = frozenset({"today's", "today’s", "today", "day's", "day’s", "new", "recent", "latest", "few", "several",
                   "some", "many", "couple"})
# Words that open a set's description without being of it ("the papers concerned with X").
_LEADING = re.compile(r"^\s*(?:that|which|who)?\s*(?:are\s+)?(?:concerned with|dealing with|focused on|focusing on|"
                      r"working on|looking at)\s+", re.IGNORECASE)
# A set named by what was said before ("their upsampling approaches", "these papers"): no topic to list.
_BACK = re.compile(r"(?:their|its|these|those|both|such|the above)\b", re.IGNORECASE)


def compared_topic(question: str, look_back: bool = False) -> tuple[str, int] | None:
    """The topic a compare question takes its papers from, and how many it asks for (0: all the topic's, up
    to TOPIC_LIMIT), when it compares a set of papers rather than papers it names; else None. The set is
    named where the comparison is asked, or, with `look_back`, when that says "their …" or names no set
    ("A few papers today deal with X. How do their solutions compare?", "the papers that drop the encoder
    — how do they compare?"), in the part before it."""
    sentences = [part for part in re.split(r"(?<=[.?!])\s+", question) if part.strip()]
    asking = max((i for i, part in enumerate(sentences) if _COMPARE_FRAME.search(part)), default=None)
    if asking is None:
        return None
    # the sentence asking, in its parts ("the speech papers — how do they differ?"); then, looking back,
    # each sentence before it while the set is still to be found
    for at in range(asking, -1 if look_back else asking - 1, -1):
        found = [topic for part in _PARTS.split(sentences[at]) if part.strip() and (topic := _set_topic(part))]
        if found:
            return found[0]
        if at < asking and not _SET.search(sentences[at]):
            return None
    return None


def _set_topic(part: str) -> tuple[str, int] | None:
    count = _COUNT.search(part)
    text = " ".join(_COMPARE_FRAME.sub(" ", _ASPECT.sub("", _COUNT.sub(" ", part))).split())
    if not (found := _SET.search(text)):
        return None
    # "the speech papers on model size": the set is named before its noun, and what follows is asked of it;
    # "the papers on 3D": nothing before, so what follows names it
    before, after = text[:found.start()], text[found.end():]
    topic = _topic_words(before) or _topic_words(after)
    if not topic or _BACK.match(topic) or _BACK.match(before.strip()):
        return None
    return topic, _COUNTS[count.group(1).lower()] if count else 0


def _topic_words(text: str) -> str:
    text = _LEADING.sub("", text.split(",")[0])  # ", with attention to how each …": asked of the set, not it
    words = topic_of(text).split()
    while words and words[0].lower() in _WHEN:  # "the latest speech papers" → "speech"
        words.pop(0)
    while words and _SET.fullmatch(words[-1].strip(",.?!")):  # "about diffusion models" → "diffusion"
        words.pop()
    topic = " ".join(words).strip(" ,.?!")
    return topic if any(word.lower() not in STOPWORDS | _WHEN for word in topic.split()) else ""


def topic_compare_answer(library, generator: Generator, question: str, topic: str, count: int = 0,
                         filters: SearchFilter = ALL_PAPERS) -> Iterator[AskEvent]:
    """Events of a compare answer over the papers of a topic: the topic's papers judged as for a list
    question, then compared; one or none found, the answer says so."""
    scope = default_scope(library, filters)
    listed = list(listed_papers(library, generator, LIST, f"Which papers are about {topic}?", topic, scope))
    limit = min(count or TOPIC_LIMIT, TOPIC_LIMIT)
    where = scope_name(scope)
    if len(listed) >= MIN_PAPERS:
        chosen = listed[:limit]
        more = f", the {len(chosen)} first of the {len(listed)} it lists" if len(listed) > len(chosen) else ""
        lead = f"The papers of {where} {_about(topic)}{more}, compared:"
        aspect = " ".join(w for w in question_aspect(question, [topic]).split() if w.lower() not in topic.lower())
        yield from compare_answer(library, generator, question, [("", item.paper) for item in chosen],
                                  library.outputs, lead=lead, aspect=aspect)
        return
    yield Sources(Retrieval(topic, (), 0.0, 0.0))
    lead = f"Only one paper of {where} {_is_about(topic)}, so there is nothing to compare it with:\n"
    result = listing_result(question, COMPARE, topic, listed, scope, lead, f"None of the papers of {where} {_is_about(topic)}.")
    yield Token(result.text)
    yield Answer(result)


def _about(topic: str) -> str:
    """"about speech"; a set described at length is quoted ("that fit “throw out the separate encoder …”")."""
    return f"that fit “{topic}”" if _described_at_length(topic) else f"about {topic}"


def _is_about(topic: str) -> str:
    return f"fits “{topic}”" if _described_at_length(topic) else f"is about {topic}"


def _described_at_length(topic: str) -> bool:
    return len(topic.split()) > SHORT_TOPIC_WORDS
