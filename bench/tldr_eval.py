"""ROUGE of paperbrief's TL;DRs on SciTLDR-format data, Lead-1 computed in the same run.

    .venv/bin/python bench/tldr_eval.py --data ../shared/data/scitldr/dev.jsonl --limit 40

Outputs are cached (service.cache) in --home, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.models import Paper  # noqa: E402
from service.cache import OutputCache  # noqa: E402
from service.evaluation.rouge_protocol import corpus_scores, lead_one, load_scitldr  # noqa: E402
from service.generation import shared_generator  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.tldr import summarise  # noqa: E402

PUBLISHED_TEST = {"BART": (43.3, 20.8, 35.0), "CATTS": (43.8, 20.9, 35.5), "Oracle sentence": (47.7, 24.7, 38.5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="SciTLDR-format jsonl")
    parser.add_argument("--limit", type=int, help="first N papers only")
    parser.add_argument("--style", default="tldr", choices=["tldr", "plain"])
    parser.add_argument("--home", type=Path, default=Path(".paperbrief/test-cache"), help="model + output cache")
    args = parser.parse_args()

    items = load_scitldr(args.data, args.limit)
    settings = Settings(home=args.home)
    generator = shared_generator(settings)
    cache = OutputCache(settings.output_cache_path)
    papers = [Paper(id=f"scitldr-{i.paper_id}", title=i.title, abstract=i.abstract, source="scitldr") for i in items]
    started = time.perf_counter()
    outputs = {s.paper.id: s.text for s in summarise(papers, generator, cache, style=args.style)}
    seconds = time.perf_counter() - started
    predictions = [(outputs[f"scitldr-{i.paper_id}"], i.golds) for i in items]
    lead = [(lead_one(i), i.golds) for i in items]
    report = {
        "data": str(args.data), "papers": len(items), "style": args.style, "model": generator.name,
        "seconds": round(seconds, 1),
        "paperbrief": {"unstemmed": corpus_scores(predictions, False), "stemmed": corpus_scores(predictions, True)},
        "lead-1": {"unstemmed": corpus_scores(lead, False), "stemmed": corpus_scores(lead, True)},
        "published_test_R1_R2_RL": PUBLISHED_TEST,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
