"""Date expressions users type: today, yesterday, 2026-11-24, 2026-11-01..2026-11-24, last-7-days."""

from __future__ import annotations

import re
from datetime import date, timedelta

_LAST_DAYS = re.compile(r"last-(\d{1,4})-days?$")


def parse_day(text: str, today: date | None = None) -> date:
    today = today or date.today()
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise ValueError(
            f"not a date: {text!r} (use YYYY-MM-DD, 'today' or 'yesterday')"
        ) from None


def parse_range(text: str, today: date | None = None) -> tuple[date, date]:
    """A single day or an inclusive range `start..end` (either side may be a word)."""
    today = today or date.today()
    word = text.strip().lower()
    if match := _LAST_DAYS.match(word):
        return today - timedelta(days=int(match.group(1)) - 1), today
    if ".." in word:
        start_text, end_text = word.split("..", 1)
        start = parse_day(start_text, today) if start_text else date.min
        end = parse_day(end_text, today) if end_text else date.max
        if start > end:
            raise ValueError(f"date range {text!r} ends before it starts")
        return start, end
    day = parse_day(word, today)
    return day, day
