"""What the web tests share: a fake model behind the Generator protocol that can be held (to fill the
queues), the questions they ask and an upload. The launched app's fixtures are in conftest.py."""

from __future__ import annotations

import json
import threading

from index.text import sentences

TRACKS_QUESTION = "What does TracksTo4D take as input?"
OFF_TOPIC = "What is the boiling point of ethanol?"


class FakeModel:
    """Stands in for the language model: copies what the prompt gives it, so citations check out.

    `hold()` makes every call wait until `release()`: that is how the tests fill the queues.
    """

    name = "fake-web"

    def __init__(self):
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.prompts: list[str] = []

    def hold(self) -> None:
        self.entered.clear()
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    def _wait(self, messages) -> str:
        prompt = "\n".join(m["content"] for m in messages)
        self.prompts.append(prompt)
        self.entered.set()
        assert self.gate.wait(60), "held for too long"
        return prompt

    def stream(self, messages, *, max_new_tokens=256, stop=()):
        prompt = self._wait(messages)
        source = prompt.rsplit('<source id="1">\nTitle: ', 1)[1].split("\n", 2)[1]  # after the examples
        for word in f"{sentences(source)[0].rstrip('.')} [1].".split(" "):
            yield word + " "

    def generate(self, batch, *, max_new_tokens=256, stop=()):
        return [self._reply(self._wait(messages)) for messages in batch]

    def _reply(self, prompt: str) -> str:
        if "Similarities and differences" in prompt:
            return "[A] and [B] both study encoders. [B] differs from [A] in its data."
        if "Topic label" in prompt:
            return "Encoder Models"
        first = sentences(prompt.rsplit("Abstract: ", 1)[1].split("\n</paper>", 1)[0])
        if "Problem:" in prompt:
            words = [" ".join(s.split()[:12]) for s in (first * 3)[:3]]
            return f"Problem: {words[0]}\nMethod: {words[1]}\nData: not stated\nResult: {words[2]}"
        return first[0]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def tracks_id(api) -> str:
    return next(p["id"] for p in api.get("/api/v1/papers").json() if "Point Track" in p["title"])


UPLOAD = "\n".join(json.dumps({"id": f"2501.0000{n}", "title": f"Widget sorting study {n}",
                               "abstract": f"We propose widget method {n} for sorting. It is {n}x faster."})
                   for n in (1, 2)) + "\n"
