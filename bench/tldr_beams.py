"""Every beam of the tuned TL;DR writer on SciTLDR-format data, dumped for offline choice studies.

For each paper: the N finished beams of the bundled model + SciTLDR adapter on the transformers engine
(the product's prompt and cleaning; llama.cpp has no beam search), with their length-normalised
log-probabilities and token counts (`AdaptedGenerator.scored_beams`), so that choices among them (the
top beam, other length penalties, minimum-Bayes-risk consensus) can be scored without generating
again. Resumable: papers already in `--out` are skipped. `--max-words` (the abstract's first
sentences only), `--adapter-scale` (the LoRA deltas × s) and `--beams` are the studied variants;
`--adapter` dumps another adapter file than the shipped one. Results: docs/BENCHMARKS.md,
"TL;DR quality (issue 4)", sessions 5–8.

    PAPERBRIEF_MODEL_DIR=.paperbrief/models .venv/bin/python -m bench.tldr_beams \
        --data ../shared/data/scitldr/dev.jsonl --beams 4 --out .paperbrief/eval/beams4.jsonl
    .venv/bin/python -m bench.tldr_beams --data ../shared/data/scitldr/dev.jsonl \
        --out .paperbrief/eval/beams4.jsonl --score
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

from index.text import sentences
from service.engines import model_assets
from service.evaluation.rouge_protocol import best_gold_scores, load_scitldr
from service.evaluation.tldr_eval import as_paper
from service.settings import Settings
from service.tldr import MAX_NEW_TOKENS, choose_summary, clean_summary, render_messages


def scaled_copy(adapter: Path, factor: float, folder: Path) -> Path:
    """`adapter` with its `scale` metadata × `factor` (its every delta × `factor`), written in `folder`."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(adapter), framework="pt") as file:
        metadata = dict(file.metadata() or {})
    metadata["scale"] = str(float(metadata.get("scale", "1")) * factor)
    out = folder / f"{adapter.stem}-x{factor}.safetensors"
    save_file(load_file(str(adapter)), str(out), metadata=metadata)
    return out


def tuned_writer(args):
    """The bundled 0.5B model on transformers with the TL;DR adapter (`--adapter`, × `--adapter-scale`)."""
    from service.engines import transformers_lm
    from service.engines.transformers_generator import LocalGenerator

    settings, bundle = Settings(), model_assets.BUNDLED["bundled"]
    model = model_assets.ensure_converted(bundle, settings.model_cache, transformers_lm.convert_gguf)
    adapter = Path(args.adapter) if args.adapter else model_assets.adapter_paths(bundle)["tldr"]
    with tempfile.TemporaryDirectory(prefix="pb-beams-") as folder:
        if args.adapter_scale != 1.0:
            adapter = scaled_copy(adapter, args.adapter_scale, Path(folder))
        generator = LocalGenerator(str(model), name=bundle.name, adapters={"tldr": adapter},
                                   device=settings.generator_device, dtype=settings.generator_dtype,
                                   threads=settings.threads)
        return generator.tuned_for("tldr")  # reads the adapter in: the scaled copy can go


def papers_to_dump(args) -> list:
    """The papers of `--data` (within `--only`) not yet in `--out`, shortest abstract first."""
    out = Path(args.out)
    done = {json.loads(line)["paper_id"] for line in out.read_text().splitlines() if line.strip()} \
        if out.exists() else set()
    only = set(Path(args.only).read_text().split()) if args.only else None
    items = load_scitldr(Path(args.data), args.limit)
    return sorted((i for i in items if i.paper_id not in done and (only is None or i.paper_id in only)),
                  key=lambda i: len(i.abstract))


def dump(args) -> None:
    todo = papers_to_dump(args)
    early_stopping = {"true": True, "false": False}.get(args.early_stopping, args.early_stopping)
    tuned = tuned_writer(args)
    started = time.perf_counter()
    with Path(args.out).open("a") as sink:
        for start in range(0, len(todo), args.batch):
            batch = todo[start : start + args.batch]
            found = tuned.scored_beams(
                [render_messages(as_paper(clipped(item, args.max_words)), "tldr") for item in batch],
                beams=args.beams, max_new_tokens=MAX_NEW_TOKENS["tldr"], batch_size=args.batch,
                length_penalty=args.length_penalty, early_stopping=early_stopping)
            for item, beams in zip(batch, found, strict=True):
                sink.write(json.dumps({"paper_id": item.paper_id, "beams": beams}) + "\n")
            sink.flush()
            print(f"{start + len(batch)}/{len(todo)} papers, {time.perf_counter() - started:.0f} s", flush=True)


def clipped(item, max_words: int | None):
    """The item with its abstract cut to its first sentences within `max_words` words (at least one)."""
    if not max_words:
        return item
    kept, words = [], 0
    for sentence in sentences(item.abstract):
        words += len(sentence.split())
        if kept and words > max_words:
            break
        kept.append(sentence)
    return dataclasses.replace(item, abstract=" ".join(kept))


def score(args) -> None:
    """R1/R2/RL (unstemmed; R1 stemmed too) of several choices among the dumped beams."""
    items = {i.paper_id: i for i in load_scitldr(Path(args.data), args.limit)}
    rows = [json.loads(line) for line in Path(args.out).read_text().splitlines() if line.strip()]
    only = set(Path(args.only).read_text().split()) if args.only else None
    rows = [r for r in rows if r["paper_id"] in items and (only is None or r["paper_id"] in only)]
    for name, choose in beam_choices().items():
        results, stemmed, words = [], [], []
        for row in rows:
            item = items[row["paper_id"]]
            cleaned = [clean_summary(beam["text"], as_paper(item), "tldr") for beam in row["beams"]]
            if choose is None:  # the oracle: the beam the gold likes best
                picked = max(cleaned, key=lambda t: best_gold_scores(t, item.golds, False)[0])
            elif choose == "shipped":  # the product's own rule (service.tldr.choose_summary)
                picked = choose_summary([beam["text"] for beam in row["beams"]], as_paper(item), "tldr")
            else:
                picked = cleaned[choose(cleaned, row["beams"])]
            results.append(best_gold_scores(picked, item.golds, False))
            stemmed.append(best_gold_scores(picked, item.golds, True)[0])
            words.append(len(picked.split()))
        means = [round(statistics.fmean(r[k] for r in results), 2) for k in range(3)]
        print(f"{name:>22}: R1/R2/RL {means[0]} / {means[1]} / {means[2]}, R1 stemmed "
              f"{statistics.fmean(stemmed):.2f}  ({len(results)} papers, {statistics.fmean(words):.1f} words)")


def beam_choices() -> dict:
    """name -> choose(cleaned texts, beams) -> index; None marks the oracle, "shipped" the product's rule."""
    from rouge_score import rouge_scorer

    pair = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=False)

    def agreement(texts: list[str], i: int) -> float:
        scores = [pair.score(texts[j], texts[i]) for j in range(len(texts)) if j != i]
        return sum(s["rouge1"].fmeasure + s["rouge2"].fmeasure for s in scores)

    def by_length_penalty(penalty: float):
        # sequences_scores are sum(log p) / tokens (penalty 1.0): recover the sum, divide anew
        return lambda texts, beams: max(range(len(beams)), key=lambda k: beams[k]["score"] * beams[k]["tokens"]
                                        / beams[k]["tokens"] ** penalty)

    choices = {"shipped (best within 30 words)": "shipped", "top beam": lambda texts, beams: 0,
               "MBR (R1+R2)": lambda texts, beams: max(range(len(texts)), key=lambda i: agreement(texts, i))}
    choices |= {f"length penalty {p}": by_length_penalty(p) for p in (0.0, 0.5, 1.5, 2.0, 3.0)}
    return choices | {"oracle beam": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--beams", type=int, default=4)
    parser.add_argument("--length-penalty", type=float, default=1.0)
    parser.add_argument("--early-stopping", choices=["true", "false", "never"], default="true")
    parser.add_argument("--adapter", help="the adapter file to dump (default: the shipped SciTLDR adapter)")
    parser.add_argument("--adapter-scale", type=float, default=1.0, help="multiply the LoRA deltas (a study)")
    parser.add_argument("--max-words", type=int, help="give the model only the abstract's first sentences")
    parser.add_argument("--only", help="a file of paper ids (one a line): dump only these")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--score", action="store_true", help="score the dumped beams instead of generating")
    args = parser.parse_args()
    score(args) if args.score else dump(args)


if __name__ == "__main__":
    main()
