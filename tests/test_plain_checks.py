"""service/plain_checks.py: a plain summary's sentences that say what the paper doesn't (hand-made)."""

from __future__ import annotations

import pytest

from service.plain_checks import supported_sentences, unsupported

TITLE = "SwiftNet: Fast Image Segmentation"
ABSTRACT = ("Segmenting images is slow on phones. We propose SwiftNet, a light network that labels every pixel. "
            "SwiftNet runs 3 times faster than earlier networks and reaches 75.4% accuracy on Cityscapes.")


@pytest.mark.parametrize(("sentence", "reason"), [
    ("It labels every pixel of a photo on a phone.", None),
    ("The authors built SwiftNet, which runs 3 times faster.", None),
    ("It is right 80% of the time.", "new number"),
    ("It works like a U-Net inside the phone.", "new term"),
    ("It is built on top of Google's models.", "new term"),
    ("It is the first network to do this on phones.", "new claim"),
    ("It labels pixels 图像 quickly.", "other script"),
])
def test_what_the_paper_does_not_say_is_named(sentence, reason):
    assert unsupported(sentence, TITLE, ABSTRACT) == reason


def test_a_comparison_needs_one_in_the_abstract():
    quiet = "We study how networks label pixels. We describe the errors they make on phones."
    assert unsupported("Their network is better than the others.", "A Study of Pixels", quiet) == "new comparison"
    assert unsupported("Their network is faster than the others.", TITLE, ABSTRACT) is None


def test_only_the_unsupported_sentences_are_dropped():
    summary = ("Phones are slow at labelling pictures. SwiftNet does it 3 times faster. "
               "It is the first network to beat every rival.")
    assert supported_sentences(summary, TITLE, ABSTRACT) == (
        "Phones are slow at labelling pictures. SwiftNet does it 3 times faster.")
    assert supported_sentences("It is right 80% of the time.", TITLE, ABSTRACT) == ""


def test_each_kind_of_comparison_needs_its_own_kind_in_the_abstract():
    accurate_only = "We propose a segmenter. It outperforms earlier segmenters in accuracy."
    assert unsupported("It is more accurate than earlier ones.", "Segmenter", accurate_only) is None
    assert unsupported("It is faster than earlier ones.", "Segmenter", accurate_only) == "new comparison"
    timed = "We propose a splitter. It reduces execution time on phones."
    assert unsupported("It makes the models faster.", "Splitter", timed) is None
    assert unsupported("It is faster and more accurate.", "Splitter", timed) == "new comparison"


@pytest.mark.parametrize("abstract", [
    "We prune the encoder. It cuts inference latency by 4.8 times with less than 0.75% accuracy drop.",
    "We prune the encoder. It runs 3x faster while keeping accuracy comparable to the full model.",
    "We prune the encoder. It runs 3x faster without sacrificing accuracy.",
    "Fast and accurate models dominate, and they outperformed older ones. We prune the encoder.",
    "We prune the encoder. It reaches competitive accuracy at a third of the cost.",
])
def test_more_accurate_needs_a_gain_in_accuracy_not_accuracy_kept_or_lost(abstract):
    assert unsupported("The pruned model is more accurate.", "Pruning", abstract) == "new comparison"


@pytest.mark.parametrize("abstract", [
    "We prune the encoder. It improves accuracy by 2 points on GLUE.",
    "We prune the encoder; on GLUE it reaches higher accuracy than the full model, while being smaller.",
    "We prune the encoder. It reduces the error rate by a third.",
])
def test_more_accurate_is_backed_by_a_gain_in_accuracy(abstract):
    assert unsupported("The pruned model is more accurate.", "Pruning", abstract) is None


def test_faster_is_backed_by_time_saved_in_the_same_clause():
    saved = "We prune the encoder. Our model outperforms existing solutions in compression and execution time."
    assert unsupported("The pruned model is faster.", "Pruning", saved) is None
    spent = "We prune the encoder. Training time grows with depth, and our model outperforms others."
    assert unsupported("The pruned model is faster.", "Pruning", spent) == "new comparison"


@pytest.mark.parametrize(("sentence", "reason"), [
    ("The authors developed a new network called SwiftNet.", None),  # theirs: "We propose SwiftNet"
    ("The authors developed a new type of network called a U-Net.", "new term"),  # not in the paper at all
    ("The authors built a segmenter that uses a network called U-Net.", "new term"),  # used, not credited
    ("The authors developed a new model called Cityscapes.", "credited name"),  # in the abstract, but not theirs
])
def test_a_name_credited_to_the_authors_must_be_one_the_abstract_credits_them(sentence, reason):
    assert unsupported(sentence, TITLE, ABSTRACT) == reason


def test_a_wrongly_credited_name_is_taken_out_and_the_sentence_kept():
    summary = "The authors developed a new method called Cityscapes to label pictures. It works 3 times faster."
    assert supported_sentences(summary, TITLE, ABSTRACT) == (
        "The authors developed a new method to label pictures. It works 3 times faster.")
    tested = "Segmenting is slow. We propose SwiftNet. It is tested on ImageNet and COCO."
    joined = "The authors built new datasets called ImageNet and COCO to test networks."
    assert supported_sentences(joined, TITLE, tested) == "The authors built new datasets to test networks."
    headed = "The authors developed a new network called SwiftNet to label pixels."
    assert supported_sentences(headed, TITLE, "Segmenting images is slow on phones.") == headed  # the title's name


def test_first_is_a_claim_only_when_it_claims():
    assert unsupported("The first part labels pixels; the second counts them.", TITLE, ABSTRACT) is None
    assert unsupported("It is the first phone network to label every pixel.", TITLE, ABSTRACT) == "new claim"
    assert unsupported("For the first time, phones label pixels.", TITLE, ABSTRACT) == "new claim"
    assert unsupported("This is the first comprehensive study of phone networks.", TITLE, ABSTRACT) == "new claim"


def test_a_compound_of_the_papers_own_words_is_no_new_term():
    assert unsupported("It labels every pixel in real-time on phones.", TITLE, ABSTRACT) == "new term"  # "real"
    assert unsupported("It is a phone-light network.", TITLE, ABSTRACT) is None  # "phone" and "light" are the paper's
    assert unsupported("It is self-supervised.", TITLE, ABSTRACT) == "new term"
    unsupervised = "We train a network by itself, unsupervised, on phones."
    assert unsupported("It is self-supervised.", "Pixels", unsupervised) == "new term"


def test_a_name_is_credited_only_where_the_authors_verb_reaches_it():
    # "our proposed loss" is a thing the authors made; DE models are what it trains, not theirs
    trained = ("Dual-encoder (DE) models are widely used. We propose decoupled softmax loss, a change to InfoNCE. "
               "When trained with our proposed loss functions, standard DE models alone can match SOTA methods.")
    assert unsupported("The authors developed a new model called DE.", "Losses", trained) == "credited name"
    assert unsupported("The authors developed a new loss called decoupled softmax loss.", "Losses", trained) is None
    apposed = ("We propose a variant of the basic GAN model, a Multi-Modal Gaussian-Mixture GAN (GM-GAN), where the "
               "latent space is a mixture. It learns classes. We call our score the Mixture Inception Score (MIS).")
    for name in ("a Multi-Modal Gaussian-Mixture GAN (GM-GAN)", "the Mixture Inception Score (MIS)"):
        assert unsupported(f"The authors developed a new method called {name}.", "GANs", apposed) is None


def test_a_short_credited_name_is_found_as_a_word_not_inside_one():
    abstract = "DE models are widely used. We propose a decoupled loss for training models."
    assert unsupported("The authors developed a new model called DE.", "Losses", abstract) == "credited name"
