"""Our nDCG@10 / Recall@100 agree with trec_eval (pytrec_eval) on random runs."""

from __future__ import annotations

import random

import pytest

from service.evaluation.retrieval_metrics import mean_over_queries, ndcg_at_k, recall_at_k

pytrec_eval = pytest.importorskip("pytrec_eval")


def test_metrics_match_trec_eval():
    rng = random.Random(7)
    docs = [f"d{i}" for i in range(300)]
    qrels, runs, trec_runs = {}, {}, {}
    for q in range(40):
        relevant = rng.sample(docs, rng.randint(1, 5))
        qrels[f"q{q}"] = {doc: rng.choice([1, 1, 2]) for doc in relevant}
        ranking = rng.sample(docs, 150)
        if q % 3 == 0:  # put some relevant documents near the top
            ranking = relevant[:2] + [d for d in ranking if d not in relevant[:2]]
        runs[f"q{q}"] = ranking
        # trec_eval sorts by score: give strictly decreasing scores in our order.
        trec_runs[f"q{q}"] = {doc: float(len(ranking) - i) for i, doc in enumerate(ranking)}
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"})
    reference = evaluator.evaluate(trec_runs)
    for qid in qrels:
        assert ndcg_at_k(runs[qid], qrels[qid], 10) == pytest.approx(reference[qid]["ndcg_cut_10"], abs=1e-9)
        assert recall_at_k(runs[qid], qrels[qid], 100) == pytest.approx(reference[qid]["recall_100"], abs=1e-9)
    mean_ndcg = sum(r["ndcg_cut_10"] for r in reference.values()) / len(reference)
    assert mean_over_queries(runs, qrels, ndcg_at_k, 10) == pytest.approx(mean_ndcg, abs=1e-9)
