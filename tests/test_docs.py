"""The README's settings table is generated from Settings: keep them in step."""

from __future__ import annotations

import re
import sys

from tests.conftest import REPO


def test_readme_settings_table_matches_the_settings_model():
    sys.path.insert(0, str(REPO / "scripts"))
    from settings_table import settings_table

    readme = (REPO / "README.md").read_text()
    table = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", readme, re.S)
    assert table, "README lost its settings markers"
    assert table.group(1) == settings_table(), "run: .venv/bin/python scripts/settings_table.py"


def test_readme_quickstart_is_the_two_scripts_ci_runs():
    readme = (REPO / "README.md").read_text()
    assert "bash scripts/demo.sh" in readme and "bash scripts/test.sh" in readme
    assert "scripts/test.sh" in (REPO / ".ci" / "run").read_text()
