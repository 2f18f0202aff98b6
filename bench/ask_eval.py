"""`paperbrief ask` on data: the abstention threshold's calibration and an end-to-end answer eval.

Calibration (embedder only: embeds the sample and a SciFact subset of --docs abstracts; results and
timings in docs/ask-calibration.md):

    .venv/bin/python -m bench.ask_eval --calibrate

  collects the retrieval relevance (best dense cosine, `service.ask.retrieve`) of questions the
  corpus answers and of questions it does not, on two corpora:
    sample page: its answerable questions (samples/questions-hf-daily.jsonl) vs its off-topic
                 questions + the general ones below + SciFact train claims (biomedicine is off-topic);
    SciFact:     train claims whose evidence abstracts are in the subset vs the sample's questions
                 (machine learning is off-topic there) + the general questions below;
  and picks the threshold maximising balanced accuracy over both (classes are unequal in size).
  "near" questions (the paper is there, the abstract doesn't say) are reported, not fitted: those
  must be caught by the model's "NOT IN THE PAPERS" and the citation checks, not by retrieval.

Eval (the real model over the question set; timings in docs/BENCHMARKS.md, "Cited answers over the
sample page"): `.venv/bin/python -m bench.ask_eval` delegates to

    paperbrief eval answers --corpus samples/hf-daily-papers-encoder.txt --data samples/questions-hf-daily.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
from pathlib import Path

import numpy as np

from index.sources import parse_file
from service.ask import retrieve
from service.ask_records import MIN_COVERAGE, MIN_RELEVANCE, AskOptions
from service.library import Library
from service.settings import Settings

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "samples" / "questions-hf-daily.jsonl"
SAMPLE = REPO / "samples" / "hf-daily-papers-encoder.txt"
SCIFACT = REPO.parent / "shared" / "data" / "scifact"
# Off-topic for both corpora (no medicine: SciFact might answer that).
GENERAL = [
    "Who painted the ceiling of the Sistine Chapel?", "What is the tallest mountain in Africa?",
    "How many players are on a rugby union team?", "When did the Berlin Wall fall?",
    "What is the best way to store fresh basil?", "How do I change a flat bicycle tyre?",
    "What is the exchange rate between the euro and the yen?", "Which planet has the most moons?",
    "How do you conjugate the French verb aller?", "What time zone is Tokyo in?",
    "How much does a used electric car cost?", "What is the plot of Pride and Prejudice?",
]


def load_questions(path: Path = QUESTIONS) -> list[dict]:
    return [json.loads(line) for line in path.open() if line.strip()]


def library_at(home: Path, build) -> Library:
    library = Library(Settings(home=home))
    if library.stats()["papers"] == 0:
        library.ingest([build()])
    return library


# --- calibration ------------------------------------------------------------------------------


def scifact_subset(work: Path, claims: int, docs: int, seed: int = 0) -> tuple[Path, list[str]]:
    """A corpus file with the evidence of `claims` sampled train claims plus random other abstracts."""
    qrels: dict[str, set[str]] = {}
    with (SCIFACT / "qrels.train.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(row["query-id"], set()).add(row["corpus-id"])
    texts = {row["_id"]: row["text"] for row in map(json.loads, (SCIFACT / "queries.train.jsonl").open())}
    rng = random.Random(seed)
    chosen = rng.sample(sorted(qid for qid in qrels if qid in texts), claims)
    corpus = [json.loads(line) for line in (SCIFACT / "corpus.jsonl").open()]
    needed = set().union(*(qrels[qid] for qid in chosen))
    others = [doc for doc in corpus if doc["_id"] not in needed]
    keep = [doc for doc in corpus if doc["_id"] in needed] + rng.sample(others, max(0, docs - len(needed)))
    path = work / "scifact-subset.jsonl"
    path.write_text("".join(json.dumps(doc) + "\n" for doc in keep))
    return path, [texts[qid] for qid in chosen]


def relevance(library: Library, question: str) -> list[float]:
    """[best dense cosine, best idf-weighted word coverage] of the question's candidates."""
    found = retrieve(library, question, options=AskOptions(min_relevance=-1.0))
    return [round(found.relevance, 4), round(found.coverage, 4)]


def calibration_sets(work: Path, claims: int, docs: int) -> dict[str, dict[str, list[float]]]:
    """{corpus: {kind: [relevance, …]}}; kinds: answerable, off-topic, near."""
    questions = load_questions()
    answerable = [q["question"] for q in questions if q["papers"]]
    off_topic = [q["question"] for q in questions if not q["papers"] and q["id"].startswith("off-")]
    near = [q["question"] for q in questions if not q["papers"] and q["id"].startswith("near-")]
    subset, claim_texts = scifact_subset(work, claims, docs)
    sample = library_at(work / "sample", lambda: parse_file(SAMPLE))
    scifact = library_at(work / "scifact", lambda: parse_file(subset, "scifact"))
    score = lambda library, texts: [relevance(library, text) for text in texts]
    return {
        "sample": {"answerable": score(sample, answerable), "off-topic": score(sample, off_topic + GENERAL),
                   "off-topic (SciFact claims)": score(sample, claim_texts), "near": score(sample, near)},
        "scifact": {"answerable": score(scifact, claim_texts),
                    "off-topic": score(scifact, answerable + off_topic[:3] + GENERAL)},
    }


def best_rule(positives: list[list[float]], negatives: list[list[float]], miss_cost: float = 1.0,
              use_coverage: bool = True) -> dict[str, float]:
    """The rule `cosine >= C or coverage >= L` with the best (weighted) balanced accuracy.

    Cuts are midpoints between observed values; ties go to the lowest C, then the lowest L.
    `miss_cost` > 1 weighs answerable questions wrongly abstained on above off-topic ones let through:
    those still meet the model's "NOT IN THE PAPERS" and the citation checks, a wrong abstention is final.
    """
    pos, neg = np.asarray(positives), np.asarray(negatives)
    coverage_cuts = _cuts(np.concatenate([pos[:, 1], neg[:, 1]])) if use_coverage else [np.inf]
    best: dict[str, float] = {}
    for cosine_cut in _cuts(np.concatenate([pos[:, 0], neg[:, 0]])):
        for coverage_cut in coverage_cuts:
            tpr = float(np.mean((pos[:, 0] >= cosine_cut) | (pos[:, 1] >= coverage_cut)))
            tnr = float(np.mean((neg[:, 0] < cosine_cut) & (neg[:, 1] < coverage_cut)))
            objective = (miss_cost * tpr + tnr) / (miss_cost + 1)
            if not best or objective > best["objective"] + 1e-12:
                best = {"objective": objective, "min_relevance": round(float(cosine_cut), 4),
                        "min_coverage": round(float(coverage_cut), 4) if use_coverage else None, "tpr": tpr, "tnr": tnr}
    return {**_rates(best["tpr"], best["tnr"], len(pos), len(neg)),
            **{k: v for k, v in best.items() if k in ("min_relevance", "min_coverage")}}


def _cuts(values: np.ndarray) -> list[float]:
    ordered = np.unique(values)
    return list((ordered[1:] + ordered[:-1]) / 2) or list(ordered)


def _rates(tpr: float, tnr: float, n_pos: int, n_neg: int) -> dict[str, float]:
    return {"tpr": round(tpr, 4), "tnr": round(tnr, 4), "balanced_accuracy": round((tpr + tnr) / 2, 4),
            "accuracy": round((tpr * n_pos + tnr * n_neg) / (n_pos + n_neg), 4),
            "answerable_abstained": round((1 - tpr) * n_pos), "off_topic_through": round((1 - tnr) * n_neg)}


def rates_at(positives, negatives, min_relevance: float, min_coverage: float) -> dict[str, float]:
    pos, neg = np.asarray(positives), np.asarray(negatives)
    tpr = float(np.mean((pos[:, 0] >= min_relevance) | (pos[:, 1] >= min_coverage)))
    tnr = float(np.mean((neg[:, 0] < min_relevance) & (neg[:, 1] < min_coverage)))
    return _rates(tpr, tnr, len(pos), len(neg))


def describe(values: list[list[float]]) -> dict[str, dict[str, float]]:
    def one(column: list[float]) -> dict[str, float]:
        ordered = sorted(column)
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
        return {"min": ordered[0], "p05": pick(0.05), "median": round(statistics.median(ordered), 4),
                "p95": pick(0.95), "max": ordered[-1]}

    return {"n": len(values), "cosine": one([v[0] for v in values]), "coverage": one([v[1] for v in values])}


def calibrate(work: Path, claims: int, docs: int) -> dict:
    sets = calibration_sets(work, claims, docs)
    positives = [v for corpus in sets.values() for v in corpus["answerable"]]
    negatives = [v for corpus in sets.values() for kind, vs in corpus.items() if kind.startswith("off") for v in vs]
    report = {
        "distributions": {f"{c}/{k}": describe(vs) for c, kinds in sets.items() for k, vs in kinds.items()},
        "cosine only": best_rule(positives, negatives, use_coverage=False),
        "cosine only, miss cost 2": best_rule(positives, negatives, 2.0, use_coverage=False),
        "cosine or coverage": best_rule(positives, negatives),
        "cosine or coverage, miss cost 2": best_rule(positives, negatives, 2.0),
        "in use (service.ask)": rates_at(positives, negatives, MIN_RELEVANCE, MIN_COVERAGE),
    }
    for corpus, kinds in sets.items():
        off = [v for kind, vs in kinds.items() if kind.startswith("off") for v in vs]
        report[f"in use, {corpus} alone"] = rates_at(kinds["answerable"], off, MIN_RELEVANCE, MIN_COVERAGE)
        report[f"in use, {corpus}/near (not fitted): passed to the model"] = sum(
            cos >= MIN_RELEVANCE or cov >= MIN_COVERAGE for cos, cov in kinds.get("near", []))
    report["scores"] = sets
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calibrate", action="store_true", help="Calibrate the relevance threshold (no LLM).")
    parser.add_argument("--work", type=Path, default=REPO / ".paperbrief" / "ask-eval",
                        help="Where the indexed corpora are kept between runs.")
    parser.add_argument("--claims", type=int, default=150, help="SciFact train claims to calibrate with.")
    parser.add_argument("--docs", type=int, default=1500, help="SciFact abstracts in the subset.")
    parser.add_argument("--limit", type=int, help="Eval: the first N questions only.")
    parser.add_argument("--out", type=Path, help="Calibration: also write the JSON report here; eval: the --out dir.")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.calibrate:  # the end-to-end eval is `paperbrief eval answers` (service/evaluation/answers.py)
        from service.cli import main as cli

        limit = ["--limit", str(args.limit)] if args.limit else []
        cli(["eval", "answers", "--corpus", str(SAMPLE), "--data", str(QUESTIONS), *limit,
             "--out", str(args.out or args.work / "answers")])
        return
    report = calibrate(args.work, args.claims, args.docs)
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
