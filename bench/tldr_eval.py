"""ROUGE of paperbrief's TL;DRs on SciTLDR-format data: now `paperbrief eval tldr` (this wrapper keeps
the session-1 command of docs/BENCHMARKS.md working).

    .venv/bin/python -m bench.tldr_eval --data ../shared/data/scitldr/dev.jsonl --limit 40
    # same as: paperbrief eval tldr --data ../shared/data/scitldr/dev.jsonl --limit 40
"""

from __future__ import annotations

import sys

from service.cli import main

if __name__ == "__main__":
    main(["eval", "tldr", *sys.argv[1:]])
