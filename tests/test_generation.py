"""Fast tier for the generation engine: no real model, a real loopback OpenAI-style server.

The LangChain adapter, stop strings, configuration, the OpenAI-compatible client, and the transformers
engine's LoRA switching and beam search on tiny random models (the bundled assets: test_model_assets).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from service.engines import factory
from service.engines.factory import make_generator, shared_generator
from service.engines.langchain_bridge import GeneratorChatModel
from service.engines.openai_compat import OpenAIGenerator
from service.engines.protocol import GeneratorConfigError, cut_at_stop, stream_until_stop
from tests.conftest import settings_for


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


def test_a_gguf_converted_for_transformers_is_parsed_once(tmp_path):
    """transformers reads the GGUF's header for the tokenizer, the config and the weights; during a
    conversion the first parse of a path serves the others, and afterwards nothing is left changed."""
    gguf = pytest.importorskip("gguf")
    import numpy as np

    from service.engines.transformers_lm import _one_gguf_parse

    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tensor("t", np.ones((2, 2), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    original = gguf.GGUFReader
    with _one_gguf_parse():
        first = gguf.GGUFReader(path)
        assert gguf.GGUFReader(path) is first and first.tensors[0].name == "t"
    assert gguf.GGUFReader is original and gguf.GGUFReader(path) is not first
