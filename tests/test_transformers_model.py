"""Model tier: the bundled Qwen2.5-Coder-0.5B-Instruct on the transformers engine, the fallback where
llama.cpp's wheel can't run and the engine for Hugging Face models (PAPERBRIEF_ENGINE=transformers).

The GGUF is converted once into $PAPERBRIEF_TEST_HOME's model cache and reused by later runs. Its
greedy outputs, plain and with the SciTLDR adapter, are checked against the llama.cpp engine's.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from service.engines import model_assets
from service.engines.factory import make_generator, shared_generator
from service.engines.protocol import Generator
from service.settings import Settings
from tests.conftest import QUESTION, check_an_abandoned_stream_is_released, check_closing_a_stream_stops_it

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[1]
HOME = Path(
    os.environ.get("PAPERBRIEF_TEST_HOME") or os.environ.get("PAPERBRIEF_HOME") or REPO / ".paperbrief" / "test-cache"
)
# Prompts whose greedy answers the two engines agree on, with torch in fp32 (AVX2) and in bf16 (AVX-512
# BF16): Q4_K_M weights dequantised in torch vs run quantised by llama.cpp, so near-ties flip on others
# ("… Merge Sort" vs "… Quick Sort" for "Name three sorting algorithms." in fp32).
PLAIN_ON_BOTH = [[{"role": "user", "content": text}] for text in (
    "What is the capital of France? Answer in one sentence.",
    "Write a one-sentence TL;DR: We release a dataset of 10,000 bird songs and show that a small CNN identifies "
    "the species.",
    "What is 2+2? Answer with a number.",
    "Translate 'good morning' into French.",
)]
TUNED_ON_BOTH = [[{"role": "user", "content": "Write a one-sentence TL;DR: We propose FastSort, a sorting method for "
                                              "GPUs that is 3x faster than radix sort on large arrays."}],
                 PLAIN_ON_BOTH[1]]


@pytest.fixture(scope="module")
def generator() -> Generator:
    settings = Settings(home=HOME, generator="bundled", generator_base_url=None, generator_device="cpu",
                        engine="transformers")
    return make_generator(settings)


@pytest.fixture(scope="module")
def llamacpp():
    return shared_generator(Settings(home=HOME, generator="bundled", generator_base_url=None, engine="llamacpp"))


def test_greedy_outputs_match_the_llamacpp_engine(generator, llamacpp):
    assert generator.generate(PLAIN_ON_BOTH, max_new_tokens=24) == llamacpp.generate(PLAIN_ON_BOTH, max_new_tokens=24)
    tuned, tuned_cpp = generator.tuned_for("tldr"), llamacpp.tuned_for("tldr")
    assert tuned.generate(TUNED_ON_BOTH, max_new_tokens=24) == tuned_cpp.generate(TUNED_ON_BOTH, max_new_tokens=24)


def test_a_given_reply_scores_alike_on_both_engines(generator, llamacpp):
    about, other = ([{"role": "user", "content": f"{text}\nWrite a question this paper answers."}] for text in
                    ("We propose FastSort, a sorting method for GPUs that is 3x faster than radix sort.",
                     "We release a dataset of 10,000 bird songs for species identification."))
    question = "Which papers make sorting on GPUs faster?"
    torch_scores, cpp_scores = (engine.score_continuations([about, other], question)
                                for engine in (generator, llamacpp))
    assert len(torch_scores[0]) == len(cpp_scores[0]) == generator.count_tokens(question)
    for mine, theirs in zip(torch_scores, cpp_scores, strict=True):
        assert sum(mine) == pytest.approx(sum(theirs), abs=0.5 + 0.05 * abs(sum(theirs)))
    assert sum(torch_scores[0]) > sum(torch_scores[1]) + 5, "the paper the question is about makes it likelier"


PRECISION = """
import json, torch
from index.hf import native_bf16, torch_dtype
from service.engines.transformers_lm import generator_dtype
print(json.dumps({"capability": torch.backends.cpu.get_cpu_capability(), "native": native_bf16("cpu"),
                  "embedder": str(torch_dtype("auto", "cpu")), "generator": str(generator_dtype("auto", "cpu"))}))
"""


def test_auto_precision_is_fp32_where_the_cpu_lacks_native_bf16():
    """ATEN_CPU_CAPABILITY=avx2 runs torch's AVX2 kernels, as on an AVX2-only CPU: bf16 would be emulated."""
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "avx2", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", PRECISION], env=env, capture_output=True, text=True, check=True)
    import json

    chosen = json.loads(result.stdout.strip().splitlines()[-1])
    assert chosen["capability"] == "AVX2" and chosen["native"] is False
    assert chosen["embedder"] == chosen["generator"] == "torch.float32"


def test_short_answer_streams_in_several_pieces(generator):
    pieces = list(generator.stream(QUESTION, max_new_tokens=24))
    assert len(pieces) >= 3
    assert "".join(pieces).strip()


def test_batch_gives_each_prompt_its_own_answer(generator):
    batch = [
        [{"role": "user", "content": "Name three sorting algorithms."}],
        [{"role": "user", "content": "What is 2+2? Answer with a number."}],
        [{"role": "system", "content": "You answer in French."}, {"role": "user", "content": "Say good morning."}],
    ]
    singles = [generator.generate([conversation], max_new_tokens=12)[0] for conversation in batch]
    batched = generator.generate(batch, max_new_tokens=12)
    # Not equal to the letter: a left-padded batch runs other bf16 kernels than a lone prompt, so a
    # near-tie late in an answer may flip (transformers 5.24: "… and Merge Sort" vs "… and Quick Sort").
    # Rows that were mixed up or mispositioned by the padding would differ from the first words on.
    for alone, together in zip(singles, batched, strict=True):
        assert len(os.path.commonprefix([alone, together])) >= 0.6 * len(alone), (alone, together)
    assert batched[1].strip().startswith("4") and "Bonjour" in batched[2]
    assert "".join(generator.stream(batch[0], max_new_tokens=12)) == singles[0]


def test_a_shared_prompt_prefix_is_reused_and_changes_nothing(generator):
    system = {"role": "system", "content": "You are a terse assistant for researchers. " * 8}
    asks = [[system, {"role": "user", "content": question}]
            for question in ("Name a sorting algorithm.", "Name a graph algorithm.", "Name a prime number.")]
    expected = [generator.generate([conversation], max_new_tokens=8)[0] for conversation in asks]
    prefix_cache = generator._lm._prefix  # noqa: SLF001 — the test inspects the reuse it can't see otherwise
    hits = prefix_cache.hits
    streamed = ["".join(generator.stream(conversation, max_new_tokens=8)) for conversation in asks]
    assert streamed == expected
    assert prefix_cache.hits >= hits + 2  # the 2nd request builds the shared prefix, the 3rd reuses it
    assert len(prefix_cache.prefix) >= 32


def test_stop_string_cuts_the_output(generator):
    ask = [{"role": "user", "content": "List three fruits, one per line, no numbering."}]
    full = generator.generate([ask], max_new_tokens=16)[0]
    assert "\n" in full
    cut = generator.generate([ask], max_new_tokens=16, stop=["\n"])[0]
    assert cut == full.split("\n")[0]
    assert "".join(generator.stream(ask, max_new_tokens=16, stop=["\n"])) == cut


def test_closing_a_stream_cancels_generation_and_releases_the_lock(generator):
    check_closing_a_stream_stops_it(generator)


def test_abandoned_stream_releases_the_lock(generator):
    check_an_abandoned_stream_is_released(generator)


def test_concurrent_streams_are_not_interleaved(generator):
    asks = [
        [{"role": "user", "content": "Write the word 'alpha' five times."}],
        [{"role": "user", "content": "Count from 1 to 6."}],
    ]
    expected = generator.generate(asks, max_new_tokens=10)
    got: dict[int, str] = {}
    workers = [
        threading.Thread(target=lambda i=i: got.__setitem__(i, "".join(generator.stream(asks[i], max_new_tokens=10))))
        for i in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [got.get(0), got.get(1)] == expected


def test_count_tokens_uses_the_model_tokenizer(generator):
    assert 1 <= generator.count_tokens("retrieval-augmented generation") <= 8
    assert generator.count_tokens("") == 0


def test_a_local_model_directory_works_by_configuration(generator):
    """`PAPERBRIEF_GENERATOR=/path/to/hf-model` (here: the converted bundled model) loads the same model."""
    from service.engines import model_assets

    path = model_assets.converted_dir(model_assets.BUNDLED["bundled"], Settings(home=HOME).model_cache)
    by_path = make_generator(Settings(home=HOME, generator=str(path), generator_base_url=None))
    assert by_path.name == str(path)
    assert by_path.generate([QUESTION], max_new_tokens=6) == generator.generate([QUESTION], max_new_tokens=6)


def test_the_tldr_adapter_changes_only_its_own_generations(generator):
    tuned = generator.tuned_for("tldr")
    assert tuned is not None and tuned.name != generator.name and generator.tuned_for("tldr") is tuned
    assert tuned.name.endswith("+beams4"), "the default writes the best of 4 beams, and caches say so"
    adapter_file = model_assets.ADAPTER_DIR / "scitldr-qwen2.5-coder-0.5b-lora.safetensors"
    assert hashlib.sha256(adapter_file.read_bytes()).hexdigest()[:12] in tuned.name, \
        "a retrained adapter (same file name) gets new cache keys"
    prompt = [{"role": "user", "content": "Write a one-sentence TL;DR: We propose FastSort, a sorting method "
                                          "for GPUs that is 3x faster than radix sort on large arrays."}]
    before = generator.generate([prompt], max_new_tokens=12)
    scores = generator.score_choices(prompt, ["We", "This"])
    adapted = tuned.generate([prompt], max_new_tokens=12)
    assert adapted[0].strip() and adapted != before, "the adapter is active for the tuned variant"
    assert generator.generate([prompt], max_new_tokens=12) == before, "and inactive again afterwards"
    assert generator.score_choices(prompt, ["We", "This"]) == scores
    assert generator.tuned_for("compare") is None


def test_the_tuned_writer_returns_every_beam_best_first(generator):
    tuned = generator.tuned_for("tldr")
    abstracts = ("We propose FastSort, a sorting method for GPUs that is 3x faster than radix sort on large arrays.",
                 "We release a dataset of 10,000 bird songs and show that a small CNN identifies the species.")
    prompts = [[{"role": "user", "content": f"Write a one-sentence TL;DR: {text}"}] for text in abstracts]
    candidates = tuned.generate_candidates(prompts, max_new_tokens=12, stop=["\n\n"])
    assert [len(found) for found in candidates] == [4, 4], "4 beams for each prompt, kept apart"
    assert [found[0] for found in candidates] == tuned.generate(prompts, max_new_tokens=12, stop=["\n\n"])
    assert "sort" in " ".join(candidates[0]).lower() and "bird" in " ".join(candidates[1]).lower()
