"""Whether a checked answer is about what the question asked: the papers it names and the measure it
asks for. The citation checks only ask whether each sentence is backed by the paper it cites; the
small model also answers a question about one paper from another paper's passage, or a question about
a quantity with another of the paper's numbers, and both pass them. These answers become abstentions.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from service.ask_records import ABSTENTION, AskResult, Retrieval
from service.asked_measure import unstated_measures

MEASURE_NOT_NAMED = "no paper names the measure the question asks for"
NOT_THE_NAMED_PAPER = "the answer cites none of the papers the question names"


def scoped(result: AskResult, named: Collection[str] = ()) -> AskResult:
    """The answer, or an abstention when the question names papers (`named`: their ids) and it cites
    none of them, or asks for a measure (a parameter count, an FID score) none of its cited papers names."""
    if result.abstained:
        return result
    cited = {citation.paper_id for citation in result.citations}
    if named and not cited & set(named):
        titles = ", ".join(dict.fromkeys(citation.title for citation in result.citations))
        return _abstention(result.question, result.retrieval, NOT_THE_NAMED_PAPER, result.raw_answer,
                           f"the answer was about another paper ({titles})")
    papers = [passage.paper for passage in result.retrieval.passages if passage.paper.id in cited]
    if unstated := unstated_measures(result.question, papers):
        return measure_abstention(result.question, result.retrieval, unstated, result.raw_answer)
    return result


def measure_abstention(question: str, retrieval: Retrieval, measures: Sequence[str], raw: str = "") -> AskResult:
    named = ", ".join(measure.replace("_", " ") for measure in measures)
    return _abstention(question, retrieval, MEASURE_NOT_NAMED, raw, f"none of these papers mentions {named}")


def _abstention(question: str, retrieval: Retrieval, reason: str, raw: str, note: str) -> AskResult:
    return AskResult(question, ABSTENTION, (), True, reason, raw, retrieval, (note,))
