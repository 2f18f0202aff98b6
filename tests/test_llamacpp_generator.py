"""The llama.cpp generator's request building, over a fake server with the boundary's interface:
every request names every adapter's scale, prompts are fitted to a slot in code, candidates are
ranked, JSON replies are checked, and choices are scored from first-token log-probabilities."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from service.engines.llamacpp import EngineConfig, EngineError, RequestError
from service.engines.llamacpp_generator import LlamaCppGenerator


def _choice(text: str, logprobs: list[float] | None = None, finish: str = "stop") -> dict:
    tokens = [{"id": i, "logprob": lp, "top_logprobs": []} for i, lp in enumerate(logprobs or [])]
    return {"message": {"content": text}, "finish_reason": finish, "logprobs": {"content": tokens}}


@dataclass
class FakeServer:
    """Characters are tokens; replies come from `reply(request)`."""

    config: EngineConfig
    reply: object = None
    requests: list = field(default_factory=list)

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        return [ord(c) for c in text]

    def render_chat(self, messages) -> str:
        return "".join(f"[{m['role'][0]}]{m['content']}\n" for m in messages)  # 4 characters a message

    def prompt_tokens(self, messages) -> int:
        return len(self.tokenize(self.render_chat(messages)))

    def chat(self, request: dict) -> dict:
        self.requests.append(request)
        return self.reply(request)

    def chat_many(self, requests) -> list[dict]:
        return [self.chat(r) for r in requests]

    def map(self, function, items):
        return [function(item) for item in items]

    def chat_stream(self, request):
        self.requests.append(request)
        yield from self.reply(request)["choices"][0]["message"]["content"].split(" ")


def fake(reply, context: int = 512, adapters: int = 2, samples: int = 1) -> tuple[LlamaCppGenerator, FakeServer]:
    config = EngineConfig(gguf=Path("m.gguf"), threads=2, slots=4, context_per_slot=context,
                          adapters=tuple(Path(f"a{i}.gguf") for i in range(adapters)))
    server = FakeServer(config, reply)
    generator = LlamaCppGenerator(server, "m-gguf", {"tldr": 1}, samples=samples, adapter_names={"tldr": "a1-0123"})
    return generator, server


def echo(request: dict) -> dict:
    return {"choices": [_choice(request["messages"][-1]["content"])]}


def test_every_request_gives_every_adapter_scale_explicitly():
    generator, server = fake(echo)
    generator.generate([[{"role": "user", "content": "plain"}]], max_new_tokens=8)
    tuned = generator.tuned_for("tldr")
    tuned.generate([[{"role": "user", "content": "tuned"}]], max_new_tokens=8)
    list(generator.stream([{"role": "user", "content": "streamed words"}], max_new_tokens=8))
    assert [r["lora"] for r in server.requests] == [
        [{"id": 0, "scale": 0.0}, {"id": 1, "scale": 0.0}],
        [{"id": 0, "scale": 0.0}, {"id": 1, "scale": 1.0}],
        [{"id": 0, "scale": 0.0}, {"id": 1, "scale": 0.0}],
    ]
    assert all(r["temperature"] == 0.0 for r in server.requests)
    assert tuned.name == "m-gguf+a1-0123" and generator.tuned_for("compare") is None


def test_a_prompt_too_long_for_the_slot_is_shortened_in_code():
    generator, server = fake(echo, context=200)
    long = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "x" * 1000}]
    generator.generate([long], max_new_tokens=50)
    sent = server.requests[-1]["messages"]
    assert sent[0] == long[0], "only the last user message is cut"
    assert server.prompt_tokens(sent) + 50 <= 200 and len(sent[1]["content"]) > 50
    question = [{"role": "user", "content": "<paper>" + "y" * 1000 + "</paper>\nQuestion: what?"}]
    generator.generate([question], max_new_tokens=50)
    kept = server.requests[-1]["messages"][0]["content"]
    assert kept.startswith("<paper>yyy") and kept.endswith("</paper>\nQuestion: what?") and "…" in kept


def test_a_prompt_whose_fixed_part_cannot_fit_is_an_error_naming_the_setting():
    generator, _ = fake(echo, context=100)
    with pytest.raises(RequestError, match="PAPERBRIEF_CONTEXT_TOKENS"):
        generator.generate([[{"role": "system", "content": "s" * 200}, {"role": "user", "content": "q"}]],
                           max_new_tokens=10)


def test_stop_strings_cut_generated_and_streamed_text():
    generator, _ = fake(lambda r: {"choices": [_choice("first line\n\nsecond")]})
    assert generator.generate([[{"role": "user", "content": "q"}]], stop=["\n\n"]) == ["first line"]


def test_candidates_put_greedy_first_then_samples_by_mean_logprob():
    def reply(request):
        if request.get("n"):
            return {"choices": [_choice("unsure", [-2.0, -2.0]), _choice("likely", [-0.1, -0.3, -0.2])]}
        return {"choices": [_choice("greedy", [-0.5])]}

    generator, server = fake(reply, samples=3)
    tuned = generator.tuned_for("tldr")
    assert tuned.name.endswith("+samples3")
    assert tuned.generate_candidates([[{"role": "user", "content": "q"}]]) == [["greedy", "likely", "unsure"]]
    greedy, sampled = server.requests
    assert sampled["n"] == 2 and sampled["temperature"] > 0 and greedy["temperature"] == 0.0
    assert sampled["messages"] == greedy["messages"] and sampled["lora"] == greedy["lora"]


def test_more_samples_than_slots_are_asked_for_a_slot_full_at_a_time():
    generator, server = fake(lambda r: {"choices": [_choice(f"s{i}", [-1.0]) for i in range(r.get("n") or 1)]},
                             samples=7)
    [found] = generator.tuned_for("tldr").generate_candidates([[{"role": "user", "content": "q"}]])
    assert len(found) == 7 and [r.get("n") for r in server.requests] == [None, 4, 2]
    assert len({r.get("seed") for r in server.requests[1:]}) == 2, "each request its own seeds"


def test_samples_of_the_plain_model_come_a_slot_full_at_a_time_without_an_adapter():
    generator, server = fake(lambda r: {"choices": [_choice(f"s{i}\n\nmore") for i in range(r["n"])]})
    found = generator.sample([{"role": "user", "content": "q"}], 6, temperature=0.8, stop=["\n\n"])
    assert found == ["s0", "s1", "s2", "s3", "s0", "s1"] and [r["n"] for r in server.requests] == [4, 2]
    assert all(r["temperature"] == 0.8 and all(a["scale"] == 0.0 for a in r["lora"]) for r in server.requests)
    assert server.requests[0]["seed"] != server.requests[1]["seed"]


def test_json_replies_parse_and_a_reply_cut_by_the_token_cap_is_none():
    schema = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 5}}, "required": ["a"]}
    generator, server = fake(lambda r: {"choices": [_choice(json.dumps({"a": "ok"}))]})
    assert generator.generate_json([[{"role": "user", "content": "q"}]], schema, max_new_tokens=32) == [{"a": "ok"}]
    assert server.requests[-1]["json_schema"] == schema
    generator, _ = fake(lambda r: {"choices": [_choice('{"a": "o', finish="length")]})
    assert generator.generate_json([[{"role": "user", "content": "q"}]], schema, max_new_tokens=4) == [None]


def test_choices_are_scored_from_the_first_tokens_alternatives():
    def reply(request):
        assert request["max_tokens"] == 1 and request["logprobs"] and request["top_logprobs"] >= 20
        first = {"id": ord("y"), "logprob": -0.1, "top_logprobs": [{"id": ord("y"), "logprob": -0.1},
                                                                   {"id": ord("n"), "logprob": -2.5}]}
        return {"choices": [{"message": {"content": "y"}, "logprobs": {"content": [first]}}]}

    generator, _ = fake(reply)
    yes, no, maybe = generator.score_choices([{"role": "user", "content": "q"}], ["yes", "no", "maybe"])
    assert (yes, no) == (-0.1, -2.5) and maybe < -1000



def _forced_choice(text: str, logprobs: list[float]) -> dict:
    """A reply whose tokens are its characters (the fake server's tokenizer), with these log-probabilities."""
    tokens = [{"id": ord(c), "logprob": lp, "top_logprobs": []} for c, lp in zip(text, logprobs, strict=True)]
    return {"message": {"content": text}, "finish_reason": "length", "logprobs": {"content": tokens}}


def test_a_given_reply_is_scored_token_by_token_under_a_grammar_of_its_own_tokens():
    def reply(request):
        assert request["grammar"] == "root ::= <[104]> <[105]>" and request["max_tokens"] == 2
        assert request["logprobs"] and request["cache_prompt"] is False and request["temperature"] == 0.0
        paper = request["messages"][-1]["content"]
        return {"choices": [_forced_choice("hi", [-0.5, -1.0] if paper == "a" else [-2.0, -3.0])]}

    generator, server = fake(reply)
    scores = generator.score_continuations([[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]],
                                           "hi")
    assert scores == [[-0.5, -1.0], [-2.0, -3.0]] and len(server.requests) == 2


def test_a_reply_llama_cpp_did_not_force_is_an_error_not_a_score():
    generator, _ = fake(lambda request: {"choices": [_forced_choice("ho", [-0.5, -1.0])]})
    with pytest.raises(EngineError, match="forced continuation"):
        generator.score_continuations([[{"role": "user", "content": "a"}]], "hi")


def test_a_continuation_longer_than_a_reply_may_be_is_refused_before_llama_cpp_sees_it():
    generator, server = fake(lambda request: {"choices": [_forced_choice("x", [-0.5])]}, context=64)
    with pytest.raises(RequestError, match="too long to score"):
        generator.score_continuations([[{"role": "user", "content": "a"}]], "y" * 33)
    assert server.requests == []
