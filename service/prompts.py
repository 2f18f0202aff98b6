"""Prompt templates live as files in `prompts/`, loaded by name, variables checked when rendered.

File format (see prompts/README.md):

    # version: 3
    [system]
    text with {variables}
    [user]
    more text with {variables}
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from langchain_core.prompts import ChatPromptTemplate

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"
_SECTION = re.compile(r"^\[(system|user|assistant)\]\s*$", re.M)
_VERSION = re.compile(r"^#\s*version:\s*(\S+)\s*$", re.M)
ROLE_TO_LANGCHAIN = {"system": "system", "user": "human", "assistant": "ai"}
LANGCHAIN_TO_ROLE = {"system": "system", "human": "user", "ai": "assistant"}


class PromptError(ValueError):
    pass


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    template: ChatPromptTemplate

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(self.template.input_variables)

    @property
    def key(self) -> str:
        """Goes into cache keys: a new prompt version recomputes cached outputs."""
        return f"{self.name}@{self.version}"

    def render(self, **values: str) -> list[dict[str, str]]:
        missing, extra = self.variables - values.keys(), values.keys() - self.variables
        if missing or extra:
            raise PromptError(
                f"prompt '{self.name}' needs {sorted(self.variables)}; "
                f"missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        messages = self.template.format_messages(**values)
        return [{"role": LANGCHAIN_TO_ROLE[m.type], "content": m.content} for m in messages]


@functools.cache
def load_prompt(name: str, directory: Path = PROMPTS_DIR) -> Prompt:
    path = directory / f"{name}.txt"
    if not path.is_file():
        known = sorted(p.stem for p in directory.glob("*.txt"))
        raise PromptError(f"no prompt named '{name}' in {directory} (have: {', '.join(known)})")
    text = path.read_text(encoding="utf-8")
    version = _VERSION.search(text)
    if not version:
        raise PromptError(f"{path}: first line must be '# version: N'")
    parts = _SECTION.split(text)
    sections = [(parts[i], parts[i + 1].strip("\n")) for i in range(1, len(parts), 2)]
    if not sections or sections[-1][0] != "user":
        raise PromptError(f"{path}: needs [system]/[user] sections ending with [user]")
    template = ChatPromptTemplate.from_messages([(ROLE_TO_LANGCHAIN[role], body) for role, body in sections])
    return Prompt(name=name, version=version.group(1), template=template)
