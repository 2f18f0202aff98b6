"""A paper that says a list topic's words only to say it did without them is not listed for that topic."""

from __future__ import annotations

from service.ask import ask
from service.denied_topic import denies_topic
from tests.test_question_kinds import RelevanceJudge

WEIGHTS = {"distillation": 3.0, "train": 1.0, "model": 0.5}
TOPIC = "train a model with distillation"


def test_a_topic_word_said_only_after_without_in_the_authors_sentences_is_denied():
    field = ["Diffusion models are slow to sample."]
    own = ["Without utilizing any knowledge distillation technique, our approach speeds up sampling by 41%."]
    assert denies_topic(WEIGHTS, TOPIC, field + own, own_from=1)
    assert denies_topic(WEIGHTS, TOPIC, ["We train no model by distillation."], own_from=0)


def test_a_denial_in_the_fields_opening_lines_states_a_problem_and_denies_nothing():
    field = ["Many researchers do not use distillation because it is costly."]
    own = ["We propose a cheaper training recipe."]
    assert not denies_topic(WEIGHTS, TOPIC, field + own, own_from=1)


def test_a_word_the_paper_also_says_plainly_or_the_reader_also_negates_is_not_denied():
    own = ["Without distillation, our model is slow.", "We therefore add a distillation loss."]
    assert not denies_topic(WEIGHTS, TOPIC, own, own_from=0)  # said plainly in the second sentence
    assert not denies_topic(WEIGHTS, TOPIC, own[:1], own_from=0, title="Distillation for speed")
    reader = "faster sampling without any distillation"  # the reader asks for papers that do without it
    assert not denies_topic({"distillation": 3.0, "faster": 1.0}, reader, own[:1], own_from=0)


def test_a_negation_reaches_only_a_few_words_within_its_clause():
    assert not denies_topic(WEIGHTS, TOPIC, ["No labels are needed, and distillation trains it."], own_from=0)
    far = ["We need not tune the many hyperparameters of our costly distillation."]
    assert not denies_topic(WEIGHTS, TOPIC, far, own_from=0)


def test_a_peripheral_word_denied_leaves_the_paper_on_the_topic():
    own = ["We distill a student by distillation, with no model ensembles."]
    assert not denies_topic(WEIGHTS, TOPIC, own, own_from=0)  # "model" carries a tenth of the weight


def test_the_paper_that_did_without_distillation_is_not_listed_for_training_with_it(sample_library):
    question = "Which papers train their own model with a distillation scheme?"
    titles = [c.title for c in ask(sample_library, RelevanceJudge("distill"), question).citations]
    assert not any(t.startswith("Faster Diffusion") for t in titles)  # "Without utilizing any knowledge distillation"
    assert any(t.startswith("Trans-Encoder") for t in titles)
