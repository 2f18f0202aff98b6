"""Whether a percentage is stated as a change ("improves R10@1 by 2.9%", "a 22% absolute gain") or as a
level ("reaches 76% accuracy", "a score of 88.5%"), so an answer can't turn a paper's gain into a score.

The small model reads "improve the previous best result by 22% absolute (54% to 76%)" and writes
"LXMERT reaches 22% absolute accuracy"; the number is the paper's, so the citation checks pass it.
"""

from __future__ import annotations

import re

from index.models import Paper
from index.text import sentences
from service.tldr_checks import without_trailing_zeros

PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:\\?%|percent\b)", re.IGNORECASE)
# "by 22%", "by up to 95%", "improvement of 2%": the figure is a change
_CHANGE_BEFORE = re.compile(
    r"(?:\bby|\b(?:improvement|gain|increase|reduction|drop|decrease|boost|margin|speed-?up|rise|fall)s?\s+of)"
    r"(?:\s+(?:up to|about|around|approximately|nearly|almost|roughly|over|more than|at least|an? average of|"
    r"on average|a further|an additional|another))*\s*$",
    re.IGNORECASE)
# "22% absolute improvement", "2% higher", "95% faster": the figure is a change
_CHANGE_AFTER = re.compile(
    r"^\s*(?:(?:absolute|relative|points?|pp|p\.p\.)\s+)?"
    r"(?:improvement|gain|increase|reduction|drop|decrease|boost|margin|speed-?up|rise|fall|jump|"
    r"higher|lower|better|worse|faster|slower|fewer|less|more|smaller|larger|bigger|cheaper|"
    r"improved|increased|reduced|decreased|relative|absolute\s*[(,.;]|absolute$)",
    re.IGNORECASE)
# Between two percentages of one run ("2.2% and 21.1%", "41%, 24%, and 3%").
_RUN_JOINER = re.compile(r"\s*(?:,\s*)?(?:(?:and|or)\s*)?")
CHANGE, LEVEL = "a change", "a level"


def percent_roles(text: str) -> dict[str, set[str]]:
    """Each percentage the text states ("55.0" as "55") with how it is stated: a change or a level."""
    roles: dict[str, set[str]] = {}
    previous, role = None, LEVEL
    for match in PERCENT.finditer(text):
        number = without_trailing_zeros(match.group(1))
        before, after = text[max(0, match.start() - 60) : match.start()], text[match.end() : match.end() + 40]
        if previous is None or not _RUN_JOINER.fullmatch(text[previous.end() : match.start()]):
            changed = _CHANGE_BEFORE.search(before) or _CHANGE_AFTER.search(after)
            role = CHANGE if changed else LEVEL  # else the run's role: "by 2.2% and 21.1%" are both changes
        roles.setdefault(number, set()).add(role)
        previous = match
    return roles


def figure_in_another_role(claim: str, paper: Paper) -> str | None:
    """Why the claim states one of the paper's percentages in a role the paper never gives it, or None:
    a gain stated as a score or accuracy, or a score stated as a gain."""
    claimed = percent_roles(claim)
    if not claimed:
        return None
    given: dict[str, set[str]] = {}
    for sentence in [paper.title, *sentences(paper.abstract)]:
        for number, roles in percent_roles(sentence).items():
            given.setdefault(number, set()).update(roles)
    for number, roles in claimed.items():
        if number in given and not roles & given[number]:
            return (f"it states {number}% as {' and '.join(sorted(roles))}, "
                    f"where the paper gives it as {' and '.join(sorted(given[number]))}")
    return None
