"""Print the README's settings table from the Settings model (a test keeps the README in sync)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.settings import Settings  # noqa: E402


def settings_table() -> str:
    rows = ["| variable | default | what it does |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = "user data dir" if name == "home" else field.default
        shown = "—" if default is None else f"`{default}`"
        rows.append(f"| `PAPERBRIEF_{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows)


def write_readme(readme: Path) -> None:
    text = readme.read_text()
    start, end = "<!-- settings:start -->\n", "\n<!-- settings:end -->"
    head, rest = text.split(start, 1)
    readme.write_text(head + start + settings_table() + end + rest.split(end, 1)[1])


if __name__ == "__main__":
    # `--write` updates README.md in place; without it the table is printed.
    if "--write" in sys.argv:
        write_readme(Path(__file__).resolve().parents[1] / "README.md")
    else:
        print(settings_table())
