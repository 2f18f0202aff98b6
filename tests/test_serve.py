"""`paperbrief serve`, access control and the HTML renderer's escaping.

The access test launches its own server (a second app over the same kind of library as test_api).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading

import httpx
from click.testing import CliRunner
from gradio_client import Client

from index.models import Paper
from service.web import ServeOptions, WebContext
from tests.conftest import REPO
from tests.web_support import FakeModel

# --- access control -------------------------------------------------------------------------------


def test_auth_and_token_guard_every_route(web_library, local_only):
    from ui.server import create_app, serve_in_background

    options = ServeOptions(users=(("ada", "s3cret"),), token="tok-123", auto_tldr=False)
    running = serve_in_background(create_app(WebContext(web_library, options, generator=FakeModel())))
    try:
        with httpx.Client(base_url=running.url, timeout=30, trust_env=False) as client:
            for path in ("/", "/api/v1/stats", "/docs", "/gradio_api/info"):
                refused = client.get(path)
                assert refused.status_code == 401 and "basic" in refused.headers["www-authenticate"].lower()
            assert client.get("/api/v1/stats", auth=("ada", "wrong")).status_code == 401
            assert client.get("/api/v1/stats", auth=("ada", "s3cret")).status_code == 200
            assert client.get("/api/v1/stats", headers={"Authorization": "Bearer tok-123"}).status_code == 200
            assert client.get("/api/v1/stats", headers={"Authorization": "Bearer nope"}).status_code == 401
            opened = client.get("/?token=tok-123")
            assert opened.status_code == 200 and "paperbrief_token" in opened.headers["set-cookie"]
            assert client.get("/api/v1/stats").status_code == 200  # the cookie now
        guarded = Client(running.url, verbose=False, headers={"Authorization": "Bearer tok-123"})
        assert guarded.predict(api_name="/stats")["papers"] >= 30
    finally:
        running.stop()


# --- the command ----------------------------------------------------------------------------------


def test_serve_refuses_to_expose_without_auth(tmp_path):
    from service.cli import main

    result = CliRunner().invoke(main, ["--home", str(tmp_path), "serve", "--host", "0.0.0.0"])
    assert result.exit_code != 0 and "--auth or --token" in result.output
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "serve", "--auth", "nopassword"])
    assert result.exit_code != 0 and "user:password" in result.output


def test_paperbrief_serve_starts_and_answers(tmp_path, local_only):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PAPERBRIEF_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--no-warmup"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = _line_matching(process, re.compile(r"serving (http://\S+)"), timeout=120)
        assert line == f"http://127.0.0.1:{port}"
        stats = httpx.get(f"{line}/api/v1/stats", trust_env=False, timeout=30).json()
        assert stats["papers"] == 0 and str(tmp_path / "home") in stats["catalog"]
        assert "paperbrief" in httpx.get(line, trust_env=False, timeout=30).text
    finally:
        process.terminate()
        process.wait(timeout=30)


def _line_matching(process, pattern: re.Pattern, timeout: float) -> str:
    found: list[str] = []

    def read():
        for text in process.stdout:
            if match := pattern.search(text):
                found.append(match.group(1))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert found, f"no line matching {pattern.pattern} within {timeout} s"
    return found[0]


def test_escaping_in_the_renderer():
    from ui import render

    evil = Paper(id="x<1>", title='<img src=x onerror="alert(1)">T', abstract="A <script>alert(2)</script>. B.",
                 source="jsonl", url="javascript:alert(3)")
    card = render.paper_card(evil, "<b>tl;dr</b>", "")
    assert "<img" not in card and "<script>" not in card and "<b>" not in card and "javascript:" not in card
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;T" in card
