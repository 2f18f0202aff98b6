"""The TL;DR measures ROUGE can't provide, on hand-made cases: title echo, novelty, result coverage."""

from __future__ import annotations

from service.evaluation.tldr_measures import summary
from service.tldr_checks import carries_result, echoes_title, novelty, result_numbers

TITLE = "VideoGPT+: Integrating Image and Video Encoders for Enhanced Video Understanding"


def test_a_tldr_that_restates_the_title_is_an_echo():
    assert echoes_title("VideoGPT+ integrates image and video encoders for enhanced video understanding.", TITLE)
    assert not echoes_title("We combine an image encoder with a video encoder and adaptive pooling; VideoGPT+ "
                            "improves results on VCGBench and MVBench.", TITLE)
    assert not echoes_title("Anything at all.", "")  # no title: nothing to echo


def test_novelty_is_the_share_of_words_the_title_lacks():
    assert novelty("Video understanding with encoders.", TITLE) == 0.0
    assert novelty("Adaptive pooling improves video benchmarks.", TITLE) == 0.8  # all but "video" are new
    assert novelty("", TITLE) == 0.0


def test_result_numbers_are_percentages_factors_and_scores_not_counts_or_years():
    text = "In 2023 we test 3 tasks: 55.0% accuracy, a 4.8x speed-up, 20 times faster and a BLEU of 27.35."
    assert result_numbers(text) == {"55", "4.8", "20", "27.35"}
    assert result_numbers("We release 2 datasets in 2024.") == set()


def test_result_coverage_counts_only_abstracts_that_state_a_result():
    abstract = "Our method reduces runtime by up to 95\\% with comparable accuracy."
    assert carries_result("We cut runtime by 95% at equal accuracy.", abstract)
    assert carries_result("We propose a fast method.", abstract) is False
    assert carries_result("Anything.", "We study encoders qualitatively.") is None
    measures = summary(["We cut runtime by 95%.", "A fast method."], [TITLE, TITLE],
                       [abstract, "We study encoders qualitatively."])
    assert measures["result_coverage"] == 1.0 and measures["abstracts_with_results"] == 1
