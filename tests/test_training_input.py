"""training/train_tldr_adapter.py: what the adapter reads while training (title or not, how much abstract),
and where and in what precision it trains."""

from __future__ import annotations

import argparse

import pytest

torch = pytest.importorskip("torch")
from index.hf import native_bf16  # noqa: E402
from training.train_tldr_adapter import (  # noqa: E402
    add_compute_arguments,
    add_input_arguments,
    compute_target,
    training_pair,
)

ROW = {
    "paper_id": "p1",
    "title": "Sparse Gates for Tiny Transformers",
    "source": [f"Sentence {n} says what the study of widgets found in its {n}th part." for n in range(1, 13)],
    "target": ["We gate sparse widgets."],
}


class WordTokenizer:
    """Splits on spaces; renders a chat as its contents, one a line (enough to see what the prompt holds)."""

    def apply_chat_template(self, messages, add_generation_prompt, tokenize):
        return "\n".join(message["content"] for message in messages)

    def __call__(self, text, add_special_tokens):
        return {"input_ids": text.split()}


def test_the_title_is_in_the_prompt_unless_abstract_only():
    titled, target = training_pair(WordTokenizer(), ROW)
    plain, _ = training_pair(WordTokenizer(), ROW, abstract_only=True)
    assert "Sparse" in titled and "Title:" in titled
    assert "Sparse" not in plain and "Title:" not in plain
    assert target == ["We", "gate", "sparse", "widgets.<|im_end|>"]


def test_source_words_bound_the_abstract_as_the_app_reads_it():
    whole, _ = training_pair(WordTokenizer(), ROW, abstract_only=True)
    bounded, _ = training_pair(WordTokenizer(), ROW, abstract_only=True, words=40)
    assert "12th" in whole
    assert len(bounded) < len(whole) - 60, "about 80 of the abstract's 144 words are dropped"


def test_input_arguments_default_to_the_shipped_adapters_input():
    parser = argparse.ArgumentParser()
    add_input_arguments(parser)
    assert vars(parser.parse_args([])) == {"abstract_only": False, "source_words": 0}
    assert vars(parser.parse_args(["--abstract-only", "--source-words", "80"])) == {
        "abstract_only": True, "source_words": 80}


def test_a_plain_style_pair_uses_the_plain_prompt_and_the_whole_abstract():
    pair, target = training_pair(WordTokenizer(), ROW, style="plain")
    tldr, _ = training_pair(WordTokenizer(), ROW, words=40)
    assert "everyday" in " ".join(pair) and "everyday" not in " ".join(tldr)
    assert "12th" in pair, "plain summaries read the whole abstract, as the app's do"
    assert target[-1] == "widgets.<|im_end|>"


def test_training_precision_follows_the_hardware():
    # bf16 on a CPU without native bf16 is emulated: a pass over train would take days instead of hours
    assert compute_target("cpu", "auto") == ("cpu", torch.bfloat16 if native_bf16("cpu") else torch.float32)
    assert compute_target("cpu", "float32") == ("cpu", torch.float32)
    assert compute_target("cpu", "bfloat16") == ("cpu", torch.bfloat16), "an explicit choice is kept"
    device, _ = compute_target()
    assert device != "cpu" or not torch.cuda.is_available(), "a lent GPU is used"


def test_compute_arguments_default_to_auto():
    parser = argparse.ArgumentParser()
    add_compute_arguments(parser)
    assert vars(parser.parse_args([])) == {"device": "auto", "dtype": "auto"}
    with pytest.raises(SystemExit):
        parser.parse_args(["--dtype", "float8"])
