"""Whether a paper says a list topic's words only to say it did without them.

"Without utilizing any knowledge distillation technique, our approach accelerates …" embeds close to
"train a model with a distillation scheme", yet says the paper does the opposite. Dense cosines cannot
see the "without"; this reads it. Only the authors' own sentences count as a denial: an opening line on
the field ("many researchers do not pretrain their own BERTs") states the problem the paper solves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.text import STOPWORDS, stem

# A negator reaches this many words on, within its clause ("without utilizing any knowledge
# distillation technique": five). "instead of" and "rather than" are left out: "instead of replacing
# the CLIP text encoder, we enhance it" denies the replacing, not CLIP.
NEGATED_WORDS = 5
# The share of the topic's idf weight that must be denied (and said nowhere else) for the paper to be
# off the topic: one peripheral word negated ("no extra labels" against "labels for crowd counting")
# does not decide it.
DENIED_SHARE = 0.25
_NEGATORS = frozenset({"without", "not", "no", "never", "nor", "w/o"})
_TOKEN = re.compile(r"w/o|[^\W_]+(?:-[^\W_]+)*|[,;:()\[\]]", re.UNICODE)


def denies_topic(weights: dict[str, float], topic: str, sentences: Sequence[str], own_from: int,
                 title: str = "") -> bool:
    """Whether the words of the topic (stem → idf weight, `search.term_weights`) that the paper says only
    in a negation, in its own sentences (from `own_from` on), carry DENIED_SHARE of the topic's weight.
    Words the topic itself negates ("faster without any distillation") are the reader's, not denied."""
    total = sum(weights.values())
    if not total:
        return False
    asked_against = _stems(topic, negated=True)
    said = _stems(title, negated=False).union(*(_stems(s, negated=False) for s in sentences))
    denied = set().union(*(_stems(s, negated=True) for s in sentences[own_from:]))
    share = sum(weight for word, weight in weights.items()
                if word in denied and word not in said and word not in asked_against)
    return share >= DENIED_SHARE * total


def _stems(text: str, negated: bool) -> set[str]:
    """The stems of the text's content words inside (negated=True) or outside a negation's reach."""
    found: set[str] = set()
    reach = 0
    for token in _TOKEN.findall(text.lower()):
        if not token[0].isalnum() and token != "w/o":  # punctuation closes a clause
            reach = 0
            continue
        if token in _NEGATORS:
            reach = NEGATED_WORDS
            continue
        inside, reach = reach > 0, max(reach - 1, 0)
        if inside == negated and token not in STOPWORDS:
            found.update(stem(part) for part in token.split("-"))
    return found
