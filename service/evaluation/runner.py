"""What every `paperbrief eval` shares: item selection, a resumable per-item result cache, progress,
and the JSON + Markdown report.

Results are cached per item in `<out>/results.sqlite`, keyed by (eval, item id, config): a run that
is interrupted resumes where it stopped, and a changed configuration (model, prompt version, mode)
computes afresh instead of mixing old answers into new numbers.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from service.cache import OutputCache, cache_key

Item = TypeVar("Item")


class EvalDataError(ValueError):
    """An eval input file is malformed (the message names the file and line)."""


def select(items: Sequence[Item], limit: int | None, seed: int | None) -> list[Item]:
    """The first `limit` items in file order, or `limit` items drawn with `seed` (order kept)."""
    chosen = list(items)
    if seed is not None:
        picked = sorted(random.Random(seed).sample(range(len(chosen)), min(limit or len(chosen), len(chosen))))
        return [chosen[i] for i in picked]
    return chosen[:limit] if limit else chosen


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share in [0, 1])."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass(frozen=True)
class ResultCache:
    """Per-item results of one eval under one configuration, as JSON values."""

    store: OutputCache
    task: str
    config: str  # everything the results depend on, e.g. "model=…|prompt=pubmedqa@2|method=logits"

    @classmethod
    def open(cls, out_dir: Path, task: str, config: str) -> ResultCache:
        return cls(OutputCache(out_dir / "results.sqlite"), f"eval:{task}", config)

    def get(self, item_id: str) -> dict[str, Any] | None:
        found = self.store.get(self.task, cache_key(item_id, self.config))
        return json.loads(found) if found is not None else None

    def put(self, item_id: str, result: dict[str, Any]) -> None:
        self.store.put(self.task, cache_key(item_id, self.config), json.dumps(result))

    def missing(self, item_ids: Iterable[str]) -> int:
        """How many of these items have no cached result (what a run will compute)."""
        return sum(self.get(item_id) is None for item_id in item_ids)


def run_items(items: Sequence[Item], item_id: Callable[[Item], str], compute: Callable[[list[Item]], list[dict]],
              cache: ResultCache, label: str, batch_size: int = 1) -> list[dict]:
    """Each item's result, from the cache or from `compute` (called on batches), in item order.

    Every result is stored as soon as its batch finishes, so an interrupted run loses one batch at most.
    """
    results = {item_id(item): cache.get(item_id(item)) for item in items}
    todo = [item for item in items if results[item_id(item)] is None]
    with progress_bar(label, total=len(items), done=len(items) - len(todo)) as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            for item, result in zip(batch, compute(batch), strict=True):
                cache.put(item_id(item), result)
                results[item_id(item)] = result
            bar.update(len(batch))
    return [results[item_id(item)] for item in items]


def progress_bar(label: str, total: int, done: int = 0):
    """A tqdm bar on a terminal; plain progress lines when stderr is a log file or a pipe."""
    if not sys.stderr.isatty():
        return LineProgress(label, total, done)
    from tqdm import tqdm

    return tqdm(total=total, initial=done, desc=label, unit="item", file=sys.stderr, leave=False)


class LineProgress:
    """Progress for a run in the background: a bar's carriage returns make a log unreadable, so this
    writes one line at most every `every` seconds, and one when the last item is done."""

    def __init__(self, label: str, total: int, done: int = 0, every: float = 30.0) -> None:
        self.label, self.total, self.done, self.every = label, total, done, every
        self.started = self.last = time.monotonic()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.last >= self.every or self.done >= self.total:
            self.last = now
            percent = 100 * self.done // max(self.total, 1)
            print(f"{self.label}: {self.done}/{self.total} items ({percent}%), {now - self.started:.0f} s",
                  file=sys.stderr, flush=True)


# --- reports ----------------------------------------------------------------------------------


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:.1f}"
    return "—" if value is None else str(value).replace("|", "\\|")


def write_report(out_dir: Path, name: str, report: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    """`<out>/<name>.json` and `<out>/<name>.md`; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamped = {"written": datetime.now(UTC).isoformat(timespec="seconds"), **report}
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    json_path.write_text(json.dumps(stamped, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(markdown.rstrip() + "\n", encoding="utf-8")
    return json_path, md_path


def read_json_lines(path: Path) -> list[tuple[int, dict]]:
    """(line number, object) for every non-blank line; a bad line raises EvalDataError naming it."""
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise EvalDataError(f"{path}: cannot read: {error}") from error
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise EvalDataError(f"{path}:{number}: not JSON: {error.msg}") from error
            if not isinstance(row, dict):
                raise EvalDataError(f"{path}:{number}: expected a JSON object")
            rows.append((number, row))
    return rows
