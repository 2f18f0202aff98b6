"""training/plain_targets.py: which teacher drafts become plain-style targets (hand-made drafts)."""

from __future__ import annotations

from collections import Counter

import pytest

pytest.importorskip("torch")
from index.models import Paper  # noqa: E402
from training.plain_targets import chosen_target, example_text, rejection, trigrams  # noqa: E402

PAPER = Paper(id="p1", title="SwiftNet: Fast Image Segmentation", source="test", abstract=(
    "Segmenting images is slow on phones. We propose SwiftNet, a light network that labels every pixel. "
    "SwiftNet runs 3 times faster than earlier networks and reaches 75.4% accuracy on Cityscapes."))
EXAMPLE = trigrams(example_text())
GOOD = ("Phones are slow at labelling every pixel of a picture. The authors built SwiftNet, a small network "
        "that does it quickly. It runs 3 times faster than earlier networks and is right 75.4% of the time.")


def test_a_faithful_plain_draft_passes():
    assert rejection(GOOD, PAPER, EXAMPLE) is None


@pytest.mark.parametrize(("draft", "reason"), [
    ("Phones are slow. SwiftNet is fast.", "shape"),
    ("Problem: phones are slow at labelling pixels in pictures. What it achieved: the authors built a fast "
     "network that labels every pixel, and it is much quicker than the older ones.", "label"),
    (GOOD.replace("75.4%", "80%"), "new number"),
    (GOOD.replace("SwiftNet", "SwiftNet with a U-Net"), "new term"),
    (GOOD.replace("The authors built", "For the first time, the authors built"), "new claim"),
    ("Computers that translate speech usually need many separate steps, which is slow. The authors built "
     "SwiftNet, one model that listens and translates at once, for labelling every pixel on phones.", "example copied"),
    (GOOD.replace("picture.", "picture 图像."), "other script"),
    (GOOD.replace("a small network", "a special small network"), "filler"),
    (GOOD.replace("that does it quickly.", "that does it quickly, like when you snap a photo."), "filler"),
])
def test_a_draft_that_breaks_the_style_or_says_more_than_the_abstract_is_rejected(draft, reason):
    assert rejection(draft, PAPER, EXAMPLE) == reason


def test_a_comparison_the_abstract_does_not_make_is_rejected():
    quiet = Paper(id="p2", title="A Study of Pixels", source="test",
                  abstract="We study how networks label pixels. We describe the errors they make on phones.")
    draft = ("Networks label the pixels of pictures on phones. The authors studied the errors they make. "
             "Their network is better than the others at this task.")
    assert rejection(draft, quiet, EXAMPLE) == "new comparison"


def test_the_simplest_passing_draft_that_carries_the_result_is_chosen():
    hard = ("Semantic segmentation of every pixel on mobile hardware is computationally prohibitive for networks. "
            "The authors introduce SwiftNet, a lightweight convolutional architecture. SwiftNet runs 3 times faster.")
    no_result = ("Phones are slow at labelling the pixels of pictures. The authors built SwiftNet to do it fast. "
                 "It is quick and small, so it fits on a phone.")
    reasons = Counter()
    chosen = chosen_target([hard, no_result, GOOD, "Problem: x."], PAPER, EXAMPLE, 12.0, reasons)
    assert chosen is not None and chosen[0] == GOOD, "the result first, then the lowest grade"
    assert reasons["passed"] == 3 and reasons["shape"] == 1 and sum(reasons.values()) == 4
    assert chosen_target([hard], PAPER, EXAMPLE, 5.0, Counter()) is None, "over the grade bound: none"
