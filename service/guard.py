"""Untrusted text (abstracts, titles, questions) goes to the model only inside delimited blocks.

Three layers, because a 0.5B model follows whatever instruction it read last:
1. delimiter tags inside the text are neutralised, so a block cannot be closed from within;
2. sentences that address the model ("ignore previous instructions…") are dropped before it sees them;
3. the tasks check outputs in code (citations must point at sources, quotes must be verbatim).
"""

from __future__ import annotations

import logging
import re

from index.text import split_sentences

log = logging.getLogger(__name__)

_TAG = re.compile(r"</?\s*(paper|source|sources|question|system|user|assistant|im_start|im_end)\b[^>]*>", re.I)
_CHAT_MARKERS = re.compile(r"<\|[^|>]{1,40}\|>")
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(previous|prior|above|earlier|all|any|your)\b.{0,40}"
    r"\b(instructions?|prompts?|rules?|directions?|context)\b"
    # an order to emit a fixed token: a quote or an ALL-CAPS word (case-sensitive, unlike the rest)
    r"|\b(reply|respond|answer|say|output|print|write)\b.{0,20}\b(only|exactly|just)\b.{0,30}"
    r"(?-i:[\"'“”]\S|\b[A-Z]{3,}\b)"
    r"|\byou are (now )?(an?|the) (ai|assistant|language model|chatbot)\b"
    r"|\bsystem prompt\b",
    re.I | re.S,
)


def neutralise(text: str) -> str:
    """Text with delimiter-like tags and chat-template markers defused."""
    text = _CHAT_MARKERS.sub(" ", text)
    return _TAG.sub(lambda match: match.group(0).replace("<", "‹").replace(">", "›"), text)


def addresses_model(sentence: str) -> bool:
    """Whether a sentence gives orders to a model: it is never shown to one, nor cited."""
    return bool(_INJECTION.search(sentence))


def injected_sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text) if _INJECTION.search(text[start:end])]


def strip_injections(text: str, where: str = "") -> str:
    """The text without sentences that try to instruct the model (logged, never silently)."""
    spans = split_sentences(text)
    kept = [text[start:end] for start, end in spans if not _INJECTION.search(text[start:end])]
    if len(kept) != len(spans):
        log.warning("dropped %d instruction-like sentence(s) from %s", len(spans) - len(kept), where or "input")
    return " ".join(kept)


def paper_block(title: str, abstract: str, where: str = "") -> str:
    """A paper as the model sees it: inside <paper> tags, defused and without injected orders."""
    heading = f"Title: {neutralise(strip_injections(title, where))}\n" if title.strip() else ""  # none: abstract only
    return f"<paper>\n{heading}Abstract: {neutralise(strip_injections(abstract, where))}\n</paper>"


def source_block(number: int, title: str, text: str, where: str = "") -> str:
    """A numbered retrieved passage for cited answers."""
    return (
        f'<source id="{number}">\n'
        f"Title: {neutralise(strip_injections(title, where))}\n"
        f"{neutralise(strip_injections(text, where))}\n"
        "</source>"
    )
