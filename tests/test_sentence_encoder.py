"""The bundled MiniLM runs on plain torch and the `tokenizers` library and gives sentence-transformers'
vectors; another plain encoder loads through transformers; any other model layout goes through
sentence-transformers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.hf import SentenceEncoder, _sentence_transformer, bundled_minilm_path, plain_pooling

REPO = Path(__file__).resolve().parents[1]

TEXTS = ["We propose WidgetNet for fast parsing.", "", "x",
         "Encoder-free vision-language models rival encoder-based ones. " * 30]  # longer than the model's limit


def test_the_bundled_model_gives_sentence_transformers_vectors():
    assert plain_pooling(bundled_minilm_path()) == "mean"
    encoder = SentenceEncoder("minilm", dtype="float32")
    assert encoder.max_tokens == 256 and encoder.dimension == 384
    ours = encoder.encode(TEXTS, batch_size=2)
    reference = _sentence_transformer(bundled_minilm_path(), "cpu")
    theirs = np.asarray(reference.encode(TEXTS, batch_size=2, normalize_embeddings=True), dtype=np.float32)
    assert np.allclose(ours, theirs, atol=1e-5)


def test_the_bundled_model_loads_without_sentence_transformers():
    code = ("import sys; from index.embedding import LocalEmbedder; LocalEmbedder('minilm').embed_batch(['x']); "
            "print(sorted(m for m in ('sentence_transformers', 'sklearn', 'pandas', 'transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.strip() == "[]"


def test_a_model_with_other_modules_goes_through_sentence_transformers(tmp_path):
    model = tmp_path / "with-dense"
    shutil.copytree(bundled_minilm_path(), model)
    modules = json.loads((model / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (model / "modules.json").write_text(json.dumps(modules))
    assert plain_pooling(str(model)) is None
    assert plain_pooling("sentence-transformers/all-MiniLM-L6-v2") is None  # a hub id: not a local folder
    pooling = model / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text()) | {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}
    pooling.write_text(json.dumps(config))
    (model / "modules.json").write_text(json.dumps([m for m in modules if m["path"] != "2_Dense"]))
    assert plain_pooling(str(model)) == "cls"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through /proc (Linux)")
def test_encoding_leaves_no_openmp_workers_behind():
    """torch shares libgomp with the llama.cpp wheel, which makes every OpenMP barrier sleep once the
    pools' workers outnumber the cores; an encoded batch must not leave torch's pool running."""
    code = ("import os; from index.hf import SentenceEncoder; "
            "encoder = SentenceEncoder('minilm', dtype='float32', threads=2); "
            "count = lambda: len(os.listdir('/proc/self/task')); before = count(); "
            "encoder.encode(['We propose WidgetNet for fast parsing.'] * 16, batch_size=16); print(before, count())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    before, after = done.stdout.split()
    assert after == before


def test_a_plain_encoder_that_is_not_a_bundled_bert_layout_loads_through_transformers(tmp_path):
    model = tmp_path / "no-tokenizer-json"
    shutil.copytree(bundled_minilm_path(), model)
    (model / "tokenizer.json").unlink()  # transformers builds the tokenizer from vocab.txt instead
    through_transformers = SentenceEncoder(str(model), dtype="float32")
    bundled = SentenceEncoder("minilm", dtype="float32")
    assert through_transformers.count_tokens(TEXTS) == bundled.count_tokens(TEXTS)
    assert np.allclose(through_transformers.encode(TEXTS, batch_size=2), bundled.encode(TEXTS, batch_size=2), atol=1e-5)
