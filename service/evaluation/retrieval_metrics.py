"""nDCG@k and Recall@k with trec_eval's definitions (`ndcg_cut.k`, `recall.k`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def ndcg_at_k(ranking: Sequence[str], relevance: Mapping[str, int], k: int = 10) -> float:
    """Gain = relevance grade, discount log2(rank + 1); ideal from all judged-relevant documents."""
    dcg = sum(relevance.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranking[:k]))
    ideal_grades = sorted((grade for grade in relevance.values() if grade > 0), reverse=True)[:k]
    ideal = sum(grade / math.log2(rank + 2) for rank, grade in enumerate(ideal_grades))
    return dcg / ideal if ideal > 0 else 0.0


def recall_at_k(ranking: Sequence[str], relevance: Mapping[str, int], k: int = 100) -> float:
    relevant = {doc for doc, grade in relevance.items() if grade > 0}
    if not relevant:
        return 0.0
    return len(relevant & set(ranking[:k])) / len(relevant)


def mean_over_queries(runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]],
                      metric, k: int) -> float:
    """Averaged over the judged queries, as trec_eval does (an unanswered query scores 0)."""
    judged = [qid for qid, rel in qrels.items() if any(grade > 0 for grade in rel.values())]
    if not judged:
        return 0.0
    return sum(metric(runs.get(qid, []), qrels[qid], k) for qid in judged) / len(judged)
