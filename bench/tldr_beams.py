"""Every beam of the tuned TL;DR writer on SciTLDR-format data, dumped for offline choice studies.

For each paper: the N finished beams of the bundled model + SciTLDR adapter (the product's prompt and
cleaning), with their summed log-probabilities and token counts, so that choices among them (the
top beam, other length penalties, minimum-Bayes-risk consensus) can be scored without generating
again. Resumable: papers already in `--out` are skipped.

    PAPERBRIEF_MODEL_DIR=.paperbrief/models .venv/bin/python bench/tldr_beams.py \
        --data ../shared/data/scitldr/dev.jsonl --beams 4 --out .paperbrief/eval/beams4.jsonl
    .venv/bin/python bench/tldr_beams.py --data ../shared/data/scitldr/dev.jsonl \
        --out .paperbrief/eval/beams4.jsonl --score
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from service.evaluation.rouge_protocol import best_gold_scores, load_scitldr
from service.evaluation.tldr_eval import as_paper
from service.tldr import MAX_NEW_TOKENS, clean_summary, render_messages


def dump(args) -> None:
    import torch

    from index.hf import beam_search
    from service.generation import make_generator
    from service.settings import Settings

    items = load_scitldr(Path(args.data), args.limit)
    done = set()
    out = Path(args.out)
    if out.exists():
        done = {json.loads(line)["paper_id"] for line in out.read_text().splitlines() if line.strip()}
    todo = sorted((i for i in items if i.paper_id not in done), key=lambda i: len(i.abstract))
    tuned = make_generator(Settings()).tuned_for("tldr")
    lm = tuned._lm  # a study script: the shared model under its lock, with the adapter on
    started = time.perf_counter()
    with out.open("a") as sink:
        for start in range(0, len(todo), args.batch):
            batch = todo[start : start + args.batch]
            prompts = [lm.encode_chat(render_messages(as_paper(item), "tldr")) for item in batch]
            ids, mask = lm._left_pad(prompts)
            config = lm._beam_config(MAX_NEW_TOKENS["tldr"], args.beams)
            config.num_return_sequences, config.length_penalty = args.beams, args.length_penalty
            config.early_stopping = {"true": True, "false": False}.get(args.early_stopping, args.early_stopping)
            config.return_dict_in_generate, config.output_scores = True, True
            with lm._lock, lm._adapters.active(tuned._adapter), torch.inference_mode():
                result = beam_search(lm.model, ids, mask, config)
            new = result.sequences[:, ids.shape[1] :]
            lengths = (new != lm._pad_id).sum(-1).tolist()
            texts = lm.tokenizer.batch_decode(new.tolist(), skip_special_tokens=True)
            scores = result.sequences_scores.tolist()
            for row, item in enumerate(batch):
                span = range(row * args.beams, (row + 1) * args.beams)
                beams = [{"text": texts[k], "score": scores[k], "tokens": lengths[k]} for k in span]
                sink.write(json.dumps({"paper_id": item.paper_id, "beams": beams}) + "\n")
            sink.flush()
            print(f"{start + len(batch)}/{len(todo)} papers, {time.perf_counter() - started:.0f} s", flush=True)


def score(args) -> None:
    """R1/R2/RL (unstemmed) of several choices among the dumped beams."""
    from rouge_score import rouge_scorer

    items = {i.paper_id: i for i in load_scitldr(Path(args.data), args.limit)}
    rows = [json.loads(line) for line in Path(args.out).read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["paper_id"] in items]
    pair = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=False)

    def mbr(texts: list[str]) -> int:
        def agreement(i: int) -> float:
            return sum(pair.score(texts[j], texts[i])["rouge1"].fmeasure + pair.score(texts[j], texts[i])["rouge2"]
                       .fmeasure for j in range(len(texts)) if j != i)
        return max(range(len(texts)), key=agreement)

    choices = {"top beam": lambda c, b: 0, "MBR (R1+R2)": lambda c, b: mbr(c)}
    for penalty in (0.0, 0.5, 1.5, 2.0, 2.5, 3.0):
        choices[f"length penalty {penalty}"] = (
            lambda c, b, p=penalty: max(range(len(b)), key=lambda k: b[k]["score"] * b[k]["tokens"] / b[k]["tokens"] ** p))
    choices["oracle beam"] = None
    for name, choose in choices.items():
        results, words = [], []
        for row in rows:
            item = items[row["paper_id"]]
            paper = as_paper(item)
            cleaned = [clean_summary(beam["text"], paper, "tldr") for beam in row["beams"]]
            if choose is None:
                picked = max(cleaned, key=lambda t: best_gold_scores(t, item.golds, False)[0])
            else:
                picked = cleaned[choose(cleaned, row["beams"])]
            results.append(best_gold_scores(picked, item.golds, False))
            words.append(len(picked.split()))
        means = [round(statistics.fmean(r[k] for r in results), 2) for k in range(3)]
        print(f"{name:>22}: R1/R2/RL {means[0]} / {means[1]} / {means[2]}  ({len(results)} papers, "
              f"{statistics.fmean(words):.1f} words)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--beams", type=int, default=4)
    parser.add_argument("--length-penalty", type=float, default=1.0)
    parser.add_argument("--early-stopping", choices=["true", "false", "never"], default="true")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--score", action="store_true", help="score the dumped beams instead of generating")
    args = parser.parse_args()
    score(args) if args.score else dump(args)


if __name__ == "__main__":
    main()
