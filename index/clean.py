"""Text cleaning shared by every source parser: one clean line of plain text per field."""

from __future__ import annotations

import html
import re
import unicodedata

# Elements whose contents are never prose (a pasted page can carry them).
_DROPPED_ELEMENTS = re.compile(r"<(script|style|head|template)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
# A tag needs a name right after '<' and attributes of the form name=value, so
# comparisons in prose ("p < 0.05", "for n<k and k>2") survive.
_TAG = re.compile(
    r"</?([A-Za-z][\w.:-]*)"
    r"(?:\s+[\w:.-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s<>\"']+))*"
    r"\s*/?>"
)
# Tags inside a word or formula ("H<sub>2</sub>O") vanish; any other tag separates words.
_INLINE_TAGS = frozenset(
    {
        *("a", "abbr", "b", "bdi", "bdo", "bold", "cite", "code", "dfn", "em", "font", "i"),
        *("inline-formula", "italic", "kbd", "mark", "q", "s", "samp", "sc", "small", "span"),
        *("strong", "sub", "sup", "tt", "u", "underline", "var"),
        # MathML, as in JATS abstracts
        *("math", "mi", "mn", "mo", "mrow", "ms", "msub", "msubsup", "msup", "mtext", "mfrac"),
        *("msqrt", "mroot", "mover", "munder", "munderover", "mstyle", "semantics"),
    }
)
# Characters that carry no text: soft hyphen, zero-width space, byte-order mark.
_INVISIBLE = "\u00ad\u200b\ufeff"


def strip_markup(text: str) -> str:
    text = _DROPPED_ELEMENTS.sub(" ", text)
    text = _COMMENT.sub(" ", text)
    text = _CDATA.sub(r"\1", text)
    return _TAG.sub(_tag_replacement, text)


def _tag_replacement(tag: re.Match[str]) -> str:
    name = tag.group(1).lower().rsplit(":", 1)[-1]  # "jats:italic" -> "italic"
    return "" if name in _INLINE_TAGS else " "


# Control characters that str.split() does not already treat as whitespace, invisible
# characters and lone surrogates (JSON "\ud800" escapes make them; they cannot be encoded).
_DROPPED_CHARS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f" + _INVISIBLE + "\ud800-\udfff]")


def clean_text(text: str) -> str:
    """NFC, entities unescaped, markup removed, controls dropped, whitespace collapsed: one line."""
    # Markup is stripped both before and after unescaping, so escaped tags
    # ("&lt;i&gt;") from double-encoded feeds go too while "p &lt; 0.05" stays "p < 0.05".
    text = strip_markup(html.unescape(strip_markup(text)))
    text = _DROPPED_CHARS.sub("", text)
    return unicodedata.normalize("NFC", " ".join(text.split()))
