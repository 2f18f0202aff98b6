"""Compare questions over a topic instead of named papers ("Compare the medical image segmentation papers",
"How do today's speech papers differ?", "Contrast the two retrieval approaches"): the topic's papers are
found as a list question finds them (`service.listing`), then compared as named ones are
(`service.compare_answer`), the answer opening with which papers the topic brought. Fewer than two: the
answer says so, with the one paper it found, cited.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from index.text import STOPWORDS
from service.ask_records import Answer, AskEvent, Retrieval, Sources, Token
from service.compare import MIN_PAPERS
from service.compare_answer import compare_answer, question_aspect
from service.engines.protocol import Generator
from service.listing import default_scope, listed_papers, listing_result, scope_name, topic_of
from service.question_kinds import COMPARE, LIST
from service.search import ALL_PAPERS, SearchFilter

TOPIC_LIMIT = 5  # papers a topic's comparison takes: its table costs a model extraction per paper
# The papers a question compares as a set: a plural of what the day's papers are ("the speech papers").
_SET = re.compile(r"\b(?:papers|works|studies|methods|approaches|models|architectures|techniques|systems|"
                  r"frameworks|ones|entries|submissions)\b", re.IGNORECASE)
_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "2": 2, "3": 3, "4": 4, "5": 5}
_COUNT = re.compile(rf"\b(?:the|today's|today’s|these)?\s*({'|'.join(_COUNTS)})\b(?=[\w\s-]*\b{_SET.pattern})",
                    re.IGNORECASE)
# A compare question's own words: what is left names the set ("the medical image segmentation papers").
_COMPARE_FRAME = re.compile(
    r"\b(?:compare|contrast|comparison of|how (?:do|does|did)|in what ways? do|what(?:'s|’s| is| are) the "
    r"(?:main |key )?(?:differences?|similarities) (?:between|among|of)|(?:differences?|similarities) "
    r"(?:between|among|of)|differ(?:ent)?|(?:from|with|to) (?:each other|one another)|all|each|both)\b",
    re.IGNORECASE)

# What the papers are compared on, after the verb ("differ in how they upsample"); the aspect, not the topic.
_ASPECT = re.compile(r"\b(?:differ|compare|contrast)\w*\s+(?:in|on|with respect to|regarding|when it comes to)\b.*$",
                     re.IGNORECASE)
# A set named by what was said before ("their upsampling approaches", "these papers"): no topic to list.
_WHEN = frozenset({"today's", "today’s", "today", "day's", "day’s", "new", "recent", "latest"})
_BACK = re.compile(r"(?:their|its|these|those|both|such|the above)\b", re.IGNORECASE)


def compared_topic(question: str) -> tuple[str, int] | None:
    """The topic a compare question takes its papers from, and how many it asks for (0: all the topic's, up
    to TOPIC_LIMIT), when it compares a set of papers rather than papers it names; else None."""
    asking = [part for part in re.split(r"(?<=[.?!])\s+", question) if _COMPARE_FRAME.search(part)]
    # "The speech papers: how do they differ?" names its set before the colon, as does "Compare A: …"
    head = asking[-1].split(":", 1)[0] if asking else ""
    count = _COUNT.search(head)
    text = " ".join(_COMPARE_FRAME.sub(" ", _ASPECT.sub("", _COUNT.sub(" ", head))).split())
    if not (found := _SET.search(text)):
        return None
    # "the speech papers on model size": the set is named before its noun, and what follows is asked of it;
    # "the papers on 3D": nothing before, so what follows names it
    before, after = text[:found.start()], text[found.end():]
    topic = _topic_words(before) or _topic_words(after)
    if not topic or _BACK.match(topic):
        return None
    return topic, _COUNTS[count.group(1).lower()] if count else 0


def _topic_words(text: str) -> str:
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
        lead = f"The papers of {where} about {topic}{more}, compared:"
        aspect = " ".join(w for w in question_aspect(question, [topic]).split() if w.lower() not in topic.lower())
        yield from compare_answer(library, generator, question, [("", item.paper) for item in chosen],
                                  library.outputs, lead=lead, aspect=aspect)
        return
    yield Sources(Retrieval(topic, (), 0.0, 0.0))
    lead = f"Only one paper of {where} is about {topic}, so there is nothing to compare it with:\n"
    result = listing_result(question, LIST, topic, listed, scope, lead, f"None of the papers of {where} is about {topic}.")
    yield Token(result.text)
    yield Answer(replace(result, kind=COMPARE))
