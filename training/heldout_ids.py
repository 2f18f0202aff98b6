"""The SciTLDR train papers the first training step never saw: their ids, one a line.

`training.train_tldr_adapter` fine-tunes on the first `--papers` records of a seeded shuffle of the
train split; this writes the ids of the others (the same `seeded_split`, so the same defaults give the
same papers). `training.train_tldr_ranking --ids` continues the adapter on them, the shipped adapter's
second step (training/README.md).

    .venv/bin/python -m training.heldout_ids --data ../shared/data/scitldr/train.jsonl \
        --out .paperbrief/eval/train-heldout-ids.txt
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.train_tldr_adapter import read_rows, seeded_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="SciTLDR train.jsonl")
    parser.add_argument("--papers", type=int, default=1400, help="as given to train_tldr_adapter")
    parser.add_argument("--seed", type=int, default=0, help="as given to train_tldr_adapter")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    _, unseen = seeded_split(read_rows(args.data), args.papers, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(f"{row['paper_id']}\n" for row in unseen))
    print(f"wrote {args.out} ({len(unseen)} paper ids)")


if __name__ == "__main__":
    main()
