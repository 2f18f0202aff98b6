"""ROUGE of paperbrief's TL;DRs on SciTLDR-format data: now `paperbrief eval tldr` (this wrapper keeps
the old command working).

    .venv/bin/python bench/tldr_eval.py --data ../shared/data/scitldr/dev.jsonl --limit 40
    # same as: paperbrief eval tldr --data ../shared/data/scitldr/dev.jsonl --limit 40
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.cli import main

if __name__ == "__main__":
    main(["eval", "tldr", *sys.argv[1:]])
