"""What the compare tests share: three papers with good extraction replies, and a scripted fake Generator."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from index.models import Paper

SEGMENT = Paper(
    id="2401.00001", title="SegNet++: Fast Medical Image Segmentation", source="jsonl",
    url="https://arxiv.org/abs/2401.00001",
    abstract=(
        "Medical image segmentation remains slow on large 3D scans. "
        "We propose SegNet++, a lightweight encoder-decoder with sparse attention. "
        "Experiments on the BraTS and KiTS benchmarks show a 2.1x speedup with equal Dice."
    ),
)
SPEECH = Paper(
    id="2401.00002", title="Whisperlite: Small Speech Recognition | Models", source="jsonl",
    abstract=(
        "Speech recognition models are too large for phones. "
        "We distil a large teacher into Whisperlite, a 30M parameter student. "
        "On LibriSpeech, Whisperlite keeps 95% of the teacher's accuracy."
    ),
)
PROOF = Paper(
    id="t-0000000000000003", title="On the Convergence of Adaptive Optimisers", source="jsonl",
    abstract=(
        "Adaptive optimisers lack convergence guarantees for non-convex losses. "
        "We prove a convergence bound for Adam under a smoothness assumption."
    ),
)
GOOD = {
    SEGMENT.id: "Problem: medical image segmentation is slow on large 3D scans\n"
                "Method: SegNet++, a lightweight encoder-decoder with sparse attention\n"
                "Data: BraTS and KiTS benchmarks\nResult: 2.1x speedup with equal Dice",
    SPEECH.id: "**Problem:** speech recognition models are too large for phones\n"
               "- Method: distil a large teacher into a 30M parameter student\n"
               "Data: LibriSpeech\nResult: keeps 95% of the teacher's accuracy",
    PROOF.id: "Problem: no convergence guarantees for adaptive optimisers\n"
              "Method: a convergence bound for Adam under smoothness\nData: not stated\nResult: not stated",
}
GOOD_SUMMARY = ("[A] and [B] both build smaller, faster models. [A] segments 3D scans with sparse attention, "
                "while [B] distils a speech recognition teacher.")


class ScriptedGenerator:
    """Replies from a function of the paper id in the prompt (or of the prompt itself); records batches."""

    name = "scripted"

    def __init__(self, extraction: Callable[[str, str], str], summary: str = GOOD_SUMMARY):
        self.extraction, self.summary = extraction, summary
        self.batches: list[list[list[dict]]] = []

    def generate(self, batch, *, max_new_tokens=256, stop: Sequence[str] = ()) -> list[str]:
        self.batches.append(batch)
        return [self._reply(messages) for messages in batch]

    def _reply(self, messages) -> str:
        prompt = messages[-1]["content"]
        if "Similarities and differences" in prompt:
            return self.summary
        title = prompt.split("Title: ", 1)[1].split("\n", 1)[0]
        paper = next(p for p in (SEGMENT, SPEECH, PROOF) if p.title == title)
        return self.extraction(paper.id, prompt)

    def stream(self, messages, *, max_new_tokens=256, stop=()):
        yield from self.generate([messages])[0]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def good(paper_id: str, prompt: str) -> str:
    return GOOD[paper_id]
