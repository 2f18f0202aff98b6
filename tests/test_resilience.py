"""An ingest killed with SIGKILL, a real Chroma server, and the CLI as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from index.sources import parse_file
from service.cli import main
from service.library import Library
from service.settings import Settings
from tests.conftest import REPO, SAMPLE_PAGE, SHARED_DATA

SCITLDR_DEV = SHARED_DATA / "scitldr" / "dev.jsonl"


def _embedded_chunks(catalog: Path) -> int:
    try:
        with sqlite3.connect(catalog, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM chunks WHERE embedded = 1").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.skipif(not SCITLDR_DEV.exists(), reason="shared/data not present")
def test_an_ingest_killed_mid_run_is_completed_by_the_next(tmp_path, minilm):
    data = tmp_path / "papers.jsonl"
    data.write_text("".join(SCITLDR_DEV.open().readlines()[:300]))
    home = tmp_path / "home"
    env = {**os.environ, "PAPERBRIEF_HOME": str(home)}
    command = [sys.executable, "-m", "service.cli", "ingest", str(data)]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while _embedded_chunks(home / "catalog.sqlite") == 0:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "ingest never started embedding"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = _embedded_chunks(home / "catalog.sqlite")

    library = Library(Settings(home=home), embedder=minilm)
    try:
        assert library.catalog.count_pending() > 0, f"the kill came too late to test anything ({killed_at})"
        outcome = library.ingest([parse_file(data)])
        assert outcome.report.new == 0 and outcome.report.resumed_chunks > 0
        assert library.catalog.count_pending() == 0
        assert len(library.papers()) == len(parse_file(data).papers)
        assert library.vectors.count() == library.catalog.chunk_count(), "no duplicate or missing vectors"
    finally:
        library.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def chroma_server(tmp_path):
    port = _free_port()
    chroma = Path(sys.executable).with_name("chroma")
    log = (tmp_path / "chroma.log").open("w")
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert server.poll() is None, (tmp_path / "chroma.log").read_text()
            assert time.monotonic() < deadline, "chroma server did not start"
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=20)


def test_a_chroma_server_works_like_the_embedded_store(tmp_path, chroma_server, minilm):
    settings = Settings(home=tmp_path / "home", chroma_url=chroma_server)
    library = Library(settings, embedder=minilm)
    try:
        assert library.ingest([parse_file(SAMPLE_PAGE)]).report.new == 30
        assert library.vectors.count() == library.catalog.chunk_count()
        hits = library.search("compressing a dense retrieval index with product quantization", k=3)
        assert hits[0].paper.title.startswith("Jointly Optimizing Query Encoder and Product Quantization")
        assert library.stats()["vector_store"] == chroma_server
    finally:
        library.close()


def test_the_cli_as_a_user_runs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERBRIEF_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    first = runner.invoke(main, ["ingest", str(SAMPLE_PAGE)])
    assert first.exit_code == 0, first.output
    assert "30 papers (30 new)" in first.output
    assert "30 papers (0 new)" in runner.invoke(main, ["ingest", str(SAMPLE_PAGE)]).output
    listing = runner.invoke(main, ["papers", "--date", "today"])
    assert listing.stdout.count("\n") == 30 and "LXMERT" in listing.stdout
    found = json.loads(runner.invoke(main, ["search", "speeding up diffusion sampling", "-k", "5", "--json"]).stdout)
    assert found[0]["paper"]["title"].startswith("Faster Diffusion") and found[0]["sentences"]
    stats = json.loads(runner.invoke(main, ["stats", "--json"]).stdout)
    assert stats["papers"] == 30 and stats["sources"] == {"hf-page": 30}
    missing = runner.invoke(main, ["ingest", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code != 0 and "nope.jsonl" in missing.output
