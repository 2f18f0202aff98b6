"""Fast tier for `compare`'s output: the traced table, the checked summary with its code-written fallback,
the Markdown/JSON/CSV renderings, choosing the papers, and the CLI command."""

from __future__ import annotations

import csv
import io
import json

import click
import pytest
from click.testing import CliRunner

from index.models import Paper
from index.text import sentences
from service.cache import OutputCache
from service.cli.summaries import compare
from service.compare import (
    FIELDS,
    ComparisonTable,
    Row,
    build_table,
    check_summary,
    code_summary,
    compare_papers,
    find_papers,
)
from service.compare_cells import NOT_STATED, Cell
from service.compare_overlap import shared_phrases
from service.presentation import comparison_csv, comparison_json, comparison_markdown
from service.search import SearchFilter
from tests.compare_support import GOOD_SUMMARY, PROOF, SEGMENT, SPEECH, ScriptedGenerator, good

# --- table, summary, formats ------------------------------------------------------------------------------


@pytest.fixture
def comparison(cache):
    return compare_papers([SEGMENT, SPEECH, PROOF], ScriptedGenerator(good), cache)


def test_every_cell_is_traced_to_a_sentence_of_its_own_abstract(comparison):
    for row in comparison.table.rows:
        abstract_sentences = sentences(row.paper.abstract)
        for cell in row.cells:
            if cell.origin == "none":
                assert cell.sentence_index is None and cell.text == "not stated"
            else:
                assert cell.supported and 0 <= cell.sentence_index < len(abstract_sentences)
    proof = comparison.table.rows[2]
    assert proof.cell("data").origin == "none"  # the model said "not stated" and the abstract agrees
    assert proof.cell("result").origin == "extractive"  # the model said "not stated", the abstract has one


def test_summary_from_the_model_is_kept_when_it_passes_the_check(comparison):
    assert (comparison.summary, comparison.summary_origin) == (GOOD_SUMMARY, "model")


@pytest.mark.parametrize("summary", [
    "[A] and [D] both use attention. [B] differs from [C].",  # [D] is not compared
    "[A] and [B] beat GPT-4 on speed. [C] is theoretical.",  # GPT-4 appears nowhere in the table
    "All of them are interesting papers about science.",  # names no paper
])
def test_summary_failing_the_check_is_replaced_by_the_code_written_one(cache, summary):
    result = compare_papers([SEGMENT, SPEECH, PROOF], ScriptedGenerator(good, summary=summary), cache)
    assert result.summary_origin == "code" and result.summary == code_summary(result.table)
    assert "[A]" in result.summary and "[D]" not in result.summary and "GPT" not in result.summary


def test_a_model_that_does_not_write_comparisons_is_not_asked_for_the_summary(cache):
    generator = ScriptedGenerator(good)
    generator.writes_comparisons = False  # as the bundled 0.5B model says of itself
    result = compare_papers([SEGMENT, SPEECH, PROOF], generator, cache)
    assert result.summary_origin == "code" and result.summary == code_summary(result.table)
    prompts = [messages[-1]["content"] for batch in generator.batches for messages in batch]
    assert prompts and not any("Similarities and differences" in prompt for prompt in prompts)


def test_check_summary_drops_only_the_offending_sentences(comparison):
    text = GOOD_SUMMARY + " Unlike [F], [C] proves a bound. Both papers are fast. While [C] uses a"
    assert check_summary(text, comparison.table) == GOOD_SUMMARY  # unknown paper, no paper, cut off


def test_ordinal_references_become_letters_and_a_fourth_of_three_is_dropped(comparison):
    text = ("The first paper segments scans, while the second paper distils a teacher. "
            "Both papers are about efficiency. The third paper proves a bound, unlike the fourth paper.")
    assert check_summary(text, comparison.table) == ""  # one sentence survives: too little for a summary
    text += " Paper C has no experiments, and [B] has no theory."
    assert check_summary(text, comparison.table) == (
        "[A] segments scans, while [B] distils a teacher. [C] has no experiments, and [B] has no theory.")


def test_sentences_naming_all_papers_or_a_short_name_count(comparison):
    text = "All three papers want smaller costs. Whisperlite distils a teacher while SegNet++ adds sparse attention."
    assert check_summary(text, comparison.table) == text


def test_code_summary_names_shared_words_and_each_method(cache):
    table = build_table([SEGMENT, SPEECH], ScriptedGenerator(good), cache)
    text = code_summary(table)
    assert text.startswith("Shared key words: “large” ([A] and [B])")  # "slow on large 3D scans", "too large"
    assert "[A] SegNet++, a lightweight encoder-decoder" in text and "[B] distil a large teacher" in text


def test_markdown_table_has_a_row_per_paper_with_sentence_references(comparison):
    text = comparison_markdown(comparison)
    lines = text.splitlines()
    assert lines[0] == "| Paper | Problem | Method | Data | Key result |"
    assert lines[1] == "| --- | --- | --- | --- | --- |"
    assert lines[2].startswith("| [A] SegNet++ | medical image segmentation is slow on large 3D scans (s1) |")
    assert lines[3].startswith("| [B] Whisperlite |") and lines[4].startswith("| [C] On the Convergence of…")
    assert all(line.count(" | ") == 4 for line in lines[2:5])
    assert "Small Speech Recognition \\| Models" in text  # pipes in titles don't break the table
    assert "† (s2)" in lines[4] and f"**Similarities and differences.** {GOOD_SUMMARY}" in text


def test_json_cells_carry_the_sentence_and_its_character_span(comparison):
    data = json.loads(json.dumps(comparison_json(comparison)))
    assert [p["letter"] for p in data["papers"]] == ["A", "B", "C"] and data["fields"] == list(FIELDS)
    for paper, row in zip(data["papers"], comparison.table.rows, strict=True):
        for cell in paper["cells"].values():
            if cell["sentence_index"] is not None:
                assert row.paper.abstract[cell["char_start"]:cell["char_end"]] == cell["sentence"]
    assert data["papers"][0]["cells"]["data"]["sentence"].startswith("Experiments on the BraTS")
    assert data["summary_origin"] == "model"


def test_csv_round_trips_with_one_row_per_paper(comparison):
    rows = list(csv.DictReader(io.StringIO(comparison_csv(comparison))))
    assert [r["id"] for r in rows] == [SEGMENT.id, SPEECH.id, PROOF.id]
    assert rows[0]["data"] == "BraTS and KiTS benchmarks" and rows[0]["data_sentence"] == "2"
    assert rows[2]["data"] == "not stated" and rows[2]["data_sentence"] == "" and rows[2]["data_origin"] == "none"
    assert rows[1]["title"] == SPEECH.title


# --- choosing papers and the CLI -------------------------------------------------------------------------


def test_find_papers_by_id_and_by_query(sample_library):
    ids = [p.id for p in sample_library.papers()[:3]]
    assert [p.id for p in find_papers(sample_library, ids)] == ids
    by_query = find_papers(sample_library, query="medical image segmentation", k=3)
    assert len(by_query) == 3 and any("Medical Image Segmentation" in p.title for p in by_query)
    with pytest.raises(ValueError, match="unknown paper id"):
        find_papers(sample_library, [ids[0], "nope"])
    with pytest.raises(ValueError, match="2–8 papers"):
        find_papers(sample_library, [ids[0], ids[0]])  # the same paper twice is one paper
    with pytest.raises(ValueError, match="ids or a query"):
        find_papers(sample_library, ids, query="x")
    with pytest.raises(ValueError, match="2–8 papers"):
        find_papers(sample_library, query="segmentation", k=5, filters=SearchFilter(sources=("arxiv",)))


@click.group()
def cli() -> None:
    """A stand-in for the main group (which registers these commands)."""


cli.add_command(compare)


class SampleGenerator(ScriptedGenerator):
    """For real sample papers: copies the first three abstract sentences as phrases."""

    def __init__(self):
        super().__init__(good, summary="[A] and [B] both study encoders. [B] differs from [C] in its data.")

    def _reply(self, messages) -> str:
        prompt = messages[-1]["content"]
        if "Similarities and differences" in prompt:
            return self.summary
        abstract = prompt.split("Abstract: ", 1)[1]
        first = [" ".join(s.split()[:12]) for s in sentences(abstract)[:3]]
        return f"Problem: {first[0]}\nMethod: {first[1]}\nData: not stated\nResult: {first[2]}"


def run(sample_library, tmp_path, *args: str):
    obj = {"library": sample_library, "generator": SampleGenerator(),
           "output_cache": OutputCache(tmp_path / "outputs.sqlite")}
    return CliRunner().invoke(cli, ["compare", *args], obj=obj)


def test_cli_compare_ids_as_json(sample_library, tmp_path):
    ids = [p.id for p in sample_library.papers()[:3]]
    result = run(sample_library, tmp_path, *ids, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [p["id"] for p in data["papers"]] == ids and data["summary_origin"] == "model"


def test_cli_compare_query_as_markdown_and_csv(sample_library, tmp_path):
    result = run(sample_library, tmp_path, "--query", "medical image segmentation", "-k", "2", "--date", "today")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("| Paper | Problem |") and "| [B] " in result.output
    as_csv = run(sample_library, tmp_path, "--query", "speech recognition", "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(as_csv.output)))) == 4


@pytest.mark.parametrize(("args", "message"), [
    (["t-bb9c714cf2f4d605"], "2–8 papers"),
    (["--query", "x", "-k", "9"], "2–8"),
    (["t-bb9c714cf2f4d605", "t-99b6cef77904c71d", "--date", "today"], "--date and --source"),
    (["--query", "encoders", "--date", "someday"], "not a date"),
])
def test_cli_compare_rejects_bad_requests(sample_library, tmp_path, args, message):
    result = run(sample_library, tmp_path, *args)
    assert result.exit_code == 2 and message in result.output


def test_shared_phrases_are_the_longest_runs_two_papers_use_and_say_something():
    def row(letter: str, title: str, method: str) -> Row:
        paper = Paper(id=f"id-{letter}", title=title, abstract=method + ".", source="jsonl")
        cells = tuple(Cell(method if field == "method" else NOT_STATED, 0 if field == "method" else None,
                           field == "method", "model" if field == "method" else "none") for field in FIELDS)
        return Row(paper, letter, title, cells)
    table = ComparisonTable((row("A", "Faster Medical Image Segmentation", "state-of-the-art methods with windows"),
                             row("B", "Medical image segmentation of the heart", "methods of the state-of-the-art"),
                             row("C", "Speech recognition", "windows of attention")))
    assert shared_phrases(table) == [("Medical Image Segmentation", ["[A]", "[B]"]), ("windows", ["[A]", "[C]"])]
