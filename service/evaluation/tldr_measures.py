"""What ROUGE can't see in a TL;DR: whether it only restates the title, how much it adds to the title,
and whether it carries the paper's result.

- title echo: the TL;DR's content words come at least ECHO_SHARE from the title;
- novelty: the share of the TL;DR's content words that are not in the title (mean over papers);
- result coverage: of the abstracts that state a result number (a percentage, a ×-speed-up, a score),
  the share of TL;DRs that carry one of those numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.tldr_checks import carries_result, echoes_title, novelty


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
