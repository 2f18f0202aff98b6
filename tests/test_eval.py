"""`paperbrief eval …` with fake generators and tiny fixture files: every subcommand, its report
files, resuming after an interrupt, bad input named by file and line, the metrics' edge cases."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main
from service.evaluation import pubmedqa
from service.evaluation.runner import ResultCache, run_items, select

FIXTURES = Path(__file__).parent / "fixtures" / "eval"


class FakeGenerator:
    """The Generator protocol: `reply(messages)` for every conversation; counts what it was asked."""

    name = "fake"

    def __init__(self, reply=lambda messages: "We propose a learned comparator for sorting widgets."):
        self.reply = reply
        self.conversations: list[list[dict]] = []

    def generate(self, batch, *, max_new_tokens=256, stop: Sequence[str] = ()):
        self.conversations += batch
        return [self.reply(messages) for messages in batch]

    def stream(self, messages, *, max_new_tokens=256, stop: Sequence[str] = ()):
        self.conversations.append(messages)
        yield from self.reply(messages).split(" ") and [self.reply(messages)]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


class FakeScorer(FakeGenerator):
    """A local-model fake that can score choices: "yes" when the contexts say 'improved', else "no";
    raises after `fail_after` items to simulate an interrupted run."""

    def __init__(self, fail_after: int | None = None):
        super().__init__()
        self.scored: list[str] = []
        self.fail_after = fail_after

    def score_choices(self, messages, choices):
        if self.fail_after is not None and len(self.scored) >= self.fail_after:
            raise KeyboardInterrupt
        prompt = messages[-1]["content"]
        self.scored.append(prompt)
        likely = "yes" if "improved" in prompt else "no"
        return [-0.1 if choice.lower() == likely else -3.0 for choice in choices]


def invoke(args: list[str], **obj):
    return CliRunner().invoke(main, args, obj=obj, catch_exceptions=False)


def test_eval_pubmedqa_scores_logits_writes_reports_and_never_shows_the_long_answer(tmp_path):
    scorer = FakeScorer()
    result = invoke(["--home", str(tmp_path / "home"), "eval", "pubmedqa", "--data", str(FIXTURES / "pqal.json"),
                     "--out", str(tmp_path / "out")], generator=scorer)
    assert result.exit_code == 0, result.output
    assert len(scorer.scored) == 4 and not any("SECRET" in prompt for prompt in scorer.scored)
    report = json.loads((tmp_path / "out" / "pubmedqa.json").read_text())
    rules = report["summary"]["rules"]
    assert rules["logits, argmax"]["accuracy"] == 0.75  # yes, no right; "maybe" item answered "no"
    assert rules["majority ('yes')"]["accuracy"] == 0.5
    assert report["method"] == "logits" and report["prompt"].startswith("pubmedqa@")
    markdown = (tmp_path / "out" / "pubmedqa.md").read_text()
    assert "| logits, argmax | 75.0 |" in markdown and "GPT-4" in markdown


def test_an_interrupted_pubmedqa_run_resumes_where_it_stopped(tmp_path):
    args = ["--home", str(tmp_path / "home"), "eval", "pubmedqa", "--data", str(FIXTURES / "pqal.json"),
            "--out", str(tmp_path / "out")]
    interrupted = invoke(args, generator=FakeScorer(fail_after=2))  # Ctrl-C: click aborts
    assert interrupted.exit_code == 1 and "Aborted" in interrupted.output
    resumed = FakeScorer()
    assert invoke(args, generator=resumed).exit_code == 0
    assert len(resumed.scored) == 2, "the two items scored before the interrupt came from the cache"
    again = FakeScorer()
    invoke(args, generator=again)
    assert again.scored == []


def test_pubmedqa_by_generation_parses_strictly(tmp_path):
    replies = iter(["Yes.", "**No**", "Answer: maybe", "I think so"])
    generator = FakeGenerator(lambda messages: next(replies))
    result = invoke(["--home", str(tmp_path / "home"), "eval", "pubmedqa", "--data", str(FIXTURES / "pqal.json"),
                     "--method", "generate", "--out", str(tmp_path / "out")], generator=generator)
    assert result.exit_code == 0, result.output
    rules = json.loads((tmp_path / "out" / "pubmedqa.json").read_text())["summary"]["rules"]
    assert rules["generated, strict parse"]["accuracy"] == 0.75
    assert rules["generated, strict parse"]["predicted"]["unparsed"] == 1


def test_logits_method_needs_a_scoring_generator(tmp_path):
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "eval", "pubmedqa", "--data",
                                       str(FIXTURES / "pqal.json"), "--method", "logits", "--out",
                                       str(tmp_path / "o")], obj={"generator": FakeGenerator()})
    assert result.exit_code == 1 and "--method generate" in result.output


def test_decision_parser_and_metrics():
    assert [pubmedqa.parse_decision(t) for t in ("yes", " No, because", '"Maybe."', "Answer: yes", "Yesterday")] == [
        "yes", "no", "maybe", "yes", None]
    scores = pubmedqa.classification_scores(["yes", "no", "maybe", "yes"], ["yes", "yes", "maybe", None])
    assert scores["accuracy"] == 0.5
    assert scores["f1"] == {"yes": pytest.approx(0.5), "no": 0.0, "maybe": 1.0}
    assert scores["macro_f1"] == pytest.approx((2 * 1 / (2 + 2) + 0.0 + 1.0) / 3)


def test_cross_fitted_offsets_never_use_an_items_own_label():
    # Scores can't separate the answers, gold is 2 yes + 2 no: fitted on all four items, any constant
    # answer is right half the time; left out, each item leaves a majority of the *other* answer.
    rows = [{"logprobs": {"yes": -1.0, "no": -0.5, "maybe": -2.0}, "answer": a} for a in ("yes", "yes", "no", "no")]
    assert pubmedqa.cross_fitted(rows, "accuracy") == ["no", "no", "yes", "yes"]
    in_sample = pubmedqa.fit_offsets(rows, "accuracy")
    assert sum(pubmedqa.decide(row["logprobs"], in_sample) == row["answer"] for row in rows) == 2


def test_fitted_offsets_prefer_the_smallest_shift_among_equals():
    rows = [{"logprobs": {"yes": -1.0, "no": -0.5, "maybe": -2.0}, "answer": "yes"} for _ in range(10)]
    assert pubmedqa.fit_offsets(rows, "accuracy") == {"yes": 0.0, "no": -0.5, "maybe": 0.0}  # a tie goes to "yes"
    assert pubmedqa.cross_fitted(rows, "macro_f1") == ["yes"] * 10


def test_offsets_fitted_for_accuracy_follow_the_majority_where_macro_f1_would_not():
    # "no" is the model's favourite word; gold is 8 yes, 2 no, and the scores don't separate them.
    rows = [{"logprobs": {"yes": -1.0, "no": -0.5, "maybe": -3.0}, "answer": a} for a in ["yes"] * 8 + ["no"] * 2]
    assert pubmedqa.decide(rows[0]["logprobs"], pubmedqa.fit_offsets(rows, "accuracy")) == "yes"
    summary = pubmedqa.summarise(rows, "logits")
    assert summary["rules"]["logits + class offsets for accuracy (leave-one-out cross-fitted)"]["accuracy"] == 0.8
    assert set(summary["offsets_fitted_on_all_items"]) == {"macro_f1", "accuracy"}


def test_eval_tldr_reports_rouge_with_lead1_and_resumes(tmp_path):
    generator = FakeGenerator()
    args = ["--home", str(tmp_path / "home"), "eval", "tldr", "--data", str(FIXTURES / "scitldr.jsonl"),
            "--out", str(tmp_path / "out")]
    result = invoke(args, generator=generator)
    assert result.exit_code == 0, result.output
    assert re.search(r"3 papers: R1/R2/RL [\d.]+/[\d.]+/[\d.]+ unstemmed \(Lead-1", result.output)
    report = json.loads((tmp_path / "out" / "tldr.json").read_text())
    assert set(report["scores"]) == {"paperbrief", "Lead-1", "Title as TL;DR"} and report["computed"] == 3
    assert report["scores"]["paperbrief"]["unstemmed"]["R1"] > report["scores"]["paperbrief"]["unstemmed"]["R2"]
    assert set(report["measures"]["paperbrief"]) >= {"title_echo_rate", "novelty", "result_coverage"}
    assert report["measures"]["Title as TL;DR"]["title_echo_rate"] == 1.0
    assert not report["with_title"] and all("Title:" not in c[-1]["content"] for c in generator.conversations)
    assert "CATTS" in (tmp_path / "out" / "tldr.md").read_text()
    invoke(args, generator=generator)
    assert len(generator.conversations) == 3, "nothing generated twice"
    invoke([*args, "--with-title"], generator=generator)  # the product's input: computed afresh, titles shown
    assert len(generator.conversations) == 6 and all("Title:" in c[-1]["content"] for c in generator.conversations[3:])


def test_eval_retrieval_with_the_real_embedder(tmp_path, minilm):
    result = invoke(["--home", str(tmp_path / "home"), "eval", "retrieval", "--corpus", str(FIXTURES / "corpus.jsonl"),
                     "--queries", str(FIXTURES / "queries.jsonl"), "--qrels", str(FIXTURES / "qrels.tsv"),
                     "--out", str(tmp_path / "out")], embedder=minilm)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "retrieval.json").read_text())
    assert set(report["modes"]) == {"dense", "bm25", "hybrid"}
    assert all(m["queries"] == 3 and m["ndcg@10"] == 1.0 and m["recall@100"] == 1.0 for m in report["modes"].values())
    assert "bge-small" in (tmp_path / "out" / "retrieval.md").read_text()


def quote_best_sentence(messages) -> str:
    """An 'answer' quoting the sentence of passage [1] sharing most words with the question, cited [1]."""
    prompt = messages[-1]["content"]
    if '<source id="1">' not in prompt:
        return "NOT IN THE PAPERS"
    question = set(prompt.rsplit("Question:", 1)[1].lower().split())
    text = prompt.split('<source id="1">', 1)[1].split("</source>")[0].split("\n", 2)[2]
    best = max(text.split(". "), key=lambda sentence: len(question & set(sentence.lower().split())))
    return best.strip().rstrip(".") + " [1]."


def test_eval_answers_hit_rate_and_abstention(tmp_path, minilm):
    generator = FakeGenerator(quote_best_sentence)
    # the fake's answers alone (no quote after them: the answering sentence would supply the number)
    result = invoke(["--home", str(tmp_path / "home"), "eval", "answers", "--corpus", str(FIXTURES / "corpus.jsonl"),
                     "--data", str(FIXTURES / "questions.jsonl"), "--out", str(tmp_path / "out"), "--quote", "none"],
                    generator=generator, embedder=minilm)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "answers.json").read_text())["summary"]
    assert summary["answerable"] == 2 and summary["unanswerable"] == 1
    assert summary["retrieval_hit_rate_top_k"] == 1.0 and summary["retrieval_hit_rate_cited"] == 1.0
    assert summary["answer_contains_rate"] == 0.5  # the fake quotes the slope sentence without the number
    assert summary["abstention_recall"] == 1.0 and summary["abstention_precision"] == 1.0
    misses = (tmp_path / "out" / "answers.md").read_text().split("without the expected answer")[1]
    assert "solar-slope" in misses and "sort-speed" not in misses
    quoted = invoke(["--home", str(tmp_path / "home"), "eval", "answers", "--corpus", str(FIXTURES / "corpus.jsonl"),
                     "--data", str(FIXTURES / "questions.jsonl"), "--out", str(tmp_path / "quoted")],
                    generator=FakeGenerator(quote_best_sentence), embedder=minilm)
    assert quoted.exit_code == 0, quoted.output
    # by default the answering sentence is quoted after the answer: the one with "thirty five degrees"
    assert json.loads((tmp_path / "quoted" / "answers.json").read_text())["summary"]["answer_contains_rate"] == 1.0


def test_eval_answers_reuses_cached_answers_until_a_search_setting_changes(tmp_path, minilm, monkeypatch):
    args = ["--home", str(tmp_path / "home"), "eval", "answers", "--corpus", str(FIXTURES / "corpus.jsonl"),
            "--data", str(FIXTURES / "questions.jsonl"), "--out", str(tmp_path / "out")]
    first, again, changed = (FakeGenerator(quote_best_sentence) for _ in range(3))
    assert invoke(args, generator=first, embedder=minilm).exit_code == 0
    assert invoke(args, generator=again, embedder=minilm).exit_code == 0
    assert first.conversations and not again.conversations  # every answer came from the cache
    monkeypatch.setenv("PAPERBRIEF_FUSION", "rrf")  # retrieval changes, so answers may too
    assert invoke(args, generator=changed, embedder=minilm).exit_code == 0
    assert len(changed.conversations) == len(first.conversations)


def test_bad_question_lines_are_named_by_file_and_line(tmp_path):
    bad = tmp_path / "questions.jsonl"
    bad.write_text('{"id": "a", "question": "Q?", "papers": [], "answer_any": []}\n'
                   '{"id": "b", "question": "Q?", "papers": ["x"], "answers": ["typo"]}\n')
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "eval", "answers", "--corpus",
                                       str(FIXTURES / "corpus.jsonl"), "--data", str(bad)], obj={})
    assert result.exit_code == 1 and f"{bad}:2" in result.output and "answers" in result.output


def test_select_takes_the_first_items_or_a_seeded_sample_in_file_order():
    assert select(list(range(10)), 3, None) == [0, 1, 2]
    sample = select(list(range(10)), 3, 7)
    assert sample == sorted(sample) and sample == select(list(range(10)), 3, 7) and len(set(sample)) == 3
    assert select(list(range(4)), None, 1) == [0, 1, 2, 3]


def test_a_run_logged_to_a_file_reports_progress_in_plain_lines(tmp_path, capsys):
    # under pytest stderr is not a terminal: what a background run writing to a log file sees
    compute = lambda batch: [{"x": x} for x in batch]
    cache = ResultCache.open(tmp_path, "t", "model=a")
    run_items([1, 2], str, compute, cache, "eval t", batch_size=1)
    capsys.readouterr()
    run_items([1, 2, 3, 4], str, compute, cache, "eval t", batch_size=1)
    err = capsys.readouterr().err
    assert "\r" not in err and err.splitlines()[-1].startswith("eval t: 4/4 items (100%), ")
    run_items([1, 2, 3, 4], str, compute, cache, "eval t")
    assert capsys.readouterr().err == "", "nothing computed, nothing reported"


def test_results_are_cached_per_configuration(tmp_path):
    calls = []
    compute = lambda batch: [calls.append(x) or {"x": x} for x in batch]
    first = ResultCache.open(tmp_path, "t", "model=a")
    assert run_items([1, 2, 3], str, compute, first, "t", batch_size=2) == [{"x": 1}, {"x": 2}, {"x": 3}]
    run_items([1, 2, 3], str, compute, first, "t")
    assert calls == [1, 2, 3]
    run_items([1, 2], str, compute, ResultCache.open(tmp_path, "t", "model=b"), "t")
    assert calls == [1, 2, 3, 1, 2], "another configuration computes afresh"
