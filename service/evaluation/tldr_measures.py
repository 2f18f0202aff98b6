"""What ROUGE can't see in a TL;DR: whether it only restates the title, how much it adds to the title,
and whether it carries the paper's result.

- title echo: the TL;DR's content words come at least ECHO_SHARE from the title;
- novelty: the share of the TL;DR's content words that are not in the title (mean over papers);
- result coverage: of the abstracts that state a result number (a percentage, a ×-speed-up, a score),
  the share of TL;DRs that carry one of those numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.text import content_stems

ECHO_SHARE = 0.8
# A number that states a result: a percentage, a speed-up or size factor, or a decimal score. Years,
# section numbers and counts of things (3 tasks, 2 datasets) are not results.
_RESULT_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:\\?%|percent\b|x\b|×|times\b|-?fold\b)"
    r"|(?<![\w.])(\d+\.\d+)(?![\w]|\.\d)", re.IGNORECASE)


def novelty(tldr: str, title: str) -> float:
    """The share of the TL;DR's content words that the title does not have (1.0 for an empty title)."""
    words = content_stems(tldr)
    if not words:
        return 0.0
    return len(words - content_stems(title)) / len(words)


def echoes_title(tldr: str, title: str) -> bool:
    words = content_stems(tldr)
    return bool(words) and bool(title.strip()) and 1.0 - novelty(tldr, title) >= ECHO_SHARE


def result_numbers(text: str) -> set[str]:
    """The result numbers a text states, as written without trailing zeros ("55.0" -> "55")."""
    found = set()
    for match in _RESULT_NUMBER.finditer(text):
        number = match.group(1) or match.group(2)
        found.add(number.rstrip("0").rstrip(".") if "." in number else number)
    return found


def carries_result(tldr: str, abstract: str) -> bool | None:
    """Whether the TL;DR states one of the abstract's result numbers; None when the abstract states none."""
    wanted = result_numbers(abstract)
    if not wanted:
        return None
    return bool(wanted & result_numbers(tldr)) or any(_plain_number(n) in tldr for n in wanted)


def _plain_number(number: str) -> str:
    return number if "." in number else f"{number}%"


def summary(tldrs: Sequence[str], titles: Sequence[str], abstracts: Sequence[str]) -> dict:
    """Title echo rate, mean novelty and result coverage over a set of TL;DRs (None where undefined)."""
    titled = [(t, title) for t, title in zip(tldrs, titles, strict=True) if title.strip()]
    results = [carries_result(t, a) for t, a in zip(tldrs, abstracts, strict=True)]
    stated = [r for r in results if r is not None]
    return {
        "title_echo_rate": round(sum(echoes_title(t, title) for t, title in titled) / len(titled), 3) if titled else None,
        "novelty": round(sum(novelty(t, title) for t, title in titled) / len(titled), 3) if titled else None,
        "result_coverage": round(sum(stated) / len(stated), 3) if stated else None,
        "abstracts_with_results": len(stated),
    }
