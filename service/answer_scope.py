"""Whether a checked answer is about the measure the question asked for. The citation checks only ask
whether each sentence is backed by the paper it cites; the small model also answers a question about a
quantity with another of the paper's numbers, and that passes them. Such answers become abstentions.
(A question that names a paper gets only that paper's passages: `ask.of_named_papers`.)
"""

from __future__ import annotations

from collections.abc import Sequence

from service.ask_records import ABSTENTION, AskResult, Retrieval
from service.asked_measure import unstated_measures

MEASURE_NOT_NAMED = "no paper names the measure the question asks for"


def scoped(result: AskResult) -> AskResult:
    """The answer, or an abstention when the question asks for a measure (a parameter count, an FID
    score) that none of its cited papers names."""
    if result.abstained:
        return result
    cited = {citation.paper_id for citation in result.citations}
    papers = [passage.paper for passage in result.retrieval.passages if passage.paper.id in cited]
    if unstated := unstated_measures(result.question, papers):
        return measure_abstention(result.question, result.retrieval, unstated, result.raw_answer)
    return result


def measure_abstention(question: str, retrieval: Retrieval, measures: Sequence[str], raw: str = "") -> AskResult:
    named = ", ".join(measure.replace("_", " ") for measure in measures)
    return _abstention(question, retrieval, MEASURE_NOT_NAMED, raw, f"none of these papers mentions {named}")


def _abstention(question: str, retrieval: Retrieval, reason: str, raw: str, note: str) -> AskResult:
    return AskResult(question, ABSTENTION, (), True, reason, raw, retrieval, (note,))
