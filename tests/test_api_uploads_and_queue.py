"""Writing through the HTTP API and Gradio (uploads, ingesting from a URL, removal, upload checks) and
queueing: with the model held, browsing stays responsive, waiters see their place and a full queue refuses.

Fast tier, against one launched server on 127.0.0.1 with a fake model that can be held (as test_api).
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.utils import Status

from service.web import UploadRejected, WebContext, check_upload
from tests.web_support import TRACKS_QUESTION, UPLOAD

# --- writing --------------------------------------------------------------------------------------


def test_ingest_an_uploaded_file_then_remove_it(api):
    report = api.post("/api/v1/ingest/file", params={"filename": "widgets.jsonl", "feed_date": "2001-02-03"},
                      content=UPLOAD.encode()).json()
    assert report["new"] == 2 and report["summary"].startswith("2 papers (2 new")
    assert [p["id"] for p in api.get("/api/v1/papers", params={"date": "2001-02-03"}).json()] == [
        "2501.00001", "2501.00002"]
    assert api.delete("/api/v1/papers/2501.00001").json()["removed"] == 1
    assert api.delete("/api/v1/papers/2501.00001").status_code == 404
    assert api.post("/api/v1/papers/remove", json={"paper_ids": ["2501.00002"]}).json()["removed"] == 1


def test_uploads_are_type_and_size_checked(api, ctx):
    wrong_type = api.post("/api/v1/ingest/file", params={"filename": "papers.exe"}, content=b"MZ\x90\x00")
    assert wrong_type.status_code == 400 and "not a paper list" in wrong_type.json()["detail"]
    too_big = api.post("/api/v1/ingest/file", params={"filename": "big.jsonl"},
                       content=b" " * (ctx.options.max_upload_bytes + 1))
    assert too_big.status_code == 413
    garbage = api.post("/api/v1/ingest/file", params={"filename": "x.txt"}, content=b"just some words\n")
    assert garbage.status_code == 400 and "unrecognised format" in garbage.json()["detail"]
    assert api.post("/api/v1/ingest", json={"url": "file:///etc/passwd"}).status_code == 422
    assert api.post("/api/v1/ingest", json={}).status_code == 422
    with pytest.raises(UploadRejected):
        check_upload("../../etc/passwd", 10, 100)


@pytest.fixture
def file_server(tmp_path):
    (tmp_path / "papers.jsonl").write_text(UPLOAD.replace("2501.0000", "2502.0000"), encoding="utf-8")

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_ingest_from_a_url(api, file_server):
    report = api.post("/api/v1/ingest", json={"url": f"{file_server}/papers.jsonl"}).json()
    assert report["new"] == 2
    assert api.post("/api/v1/papers/remove", json={"paper_ids": ["2502.00001", "2502.00002"]}).json()["removed"] == 2
    missing = api.post("/api/v1/ingest", json={"url": f"{file_server}/missing.jsonl"})
    assert missing.status_code == 502



# --- Gradio's named endpoints (gradio_client) --------------------------------------------------------


def test_gradio_client_ingest_upload_and_remove(gradio, tmp_path, api):
    path = tmp_path / "widgets.jsonl"
    path.write_text(UPLOAD.replace("2501.0000", "2503.0000"), encoding="utf-8")
    report = gradio.predict(handle_file(str(path)), "", "", "", 100, "auto", False, "2001-02-04", api_name="/ingest")
    assert report["new"] == 2
    assert gradio.predict(paper_ids=["2503.00001", "2503.00002"], api_name="/remove") == {"removed": 2, "requested": 2}
    assert api.get("/api/v1/papers", params={"date": "2001-02-04"}).json() == []


def test_gradio_keeps_uploads_inside_the_data_directory(ctx, gradio, api):
    from ui.library_tab import read_upload

    outside = Path(ctx.home).parent / "outside.jsonl"
    outside.write_text(UPLOAD, encoding="utf-8")
    with pytest.raises(UploadRejected):
        read_upload(ctx, str(outside), None)
    assert os.environ["GRADIO_TEMP_DIR"] == str(ctx.upload_dir)
    for forbidden in (ctx.library.settings.catalog_path, "/etc/passwd", ctx.upload_dir / ".." / "catalog.sqlite"):
        assert api.get(f"/gradio_api/file={forbidden}").status_code in (403, 404), forbidden


# --- concurrency ----------------------------------------------------------------------------------


def test_browsing_stays_responsive_and_waiters_see_their_place(gradio, url, api, model, ctx):
    """Several clients at once: the model is held, asks queue up, search still answers at once."""
    model.hold()
    pool = ThreadPoolExecutor(max_workers=4)
    others = [Client(url, verbose=False) for _ in range(3)]
    try:
        jobs = [client.submit(question=TRACKS_QUESTION, api_name="/ask") for client in others]
        assert model.entered.wait(30)
        started = time.monotonic()
        assert api.post("/api/v1/search", json={"query": "diffusion", "k": 1}).status_code == 200
        assert gradio.predict(query="diffusion", k=1, api_name="/search")
        assert time.monotonic() - started < 10  # not behind the model
        ranks = _queued_ranks(jobs)
        assert len(ranks) == 2 and max(ranks) >= 1  # the waiting see their place in line
        api_asks = _fill_the_api_queue(pool, url, ctx)
        refused = api.post("/api/v1/ask", json={"question": TRACKS_QUESTION})
        assert refused.status_code == 503 and refused.headers["retry-after"]
    finally:
        model.release()
    for job in jobs:
        job.result(timeout=60)
        assert job.outputs()[-1]["type"] == "answer"
    assert [future.result(timeout=60) for future in api_asks] == [200] * len(api_asks)
    pool.shutdown()


def _queued_ranks(jobs) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        statuses = [job.status() for job in jobs]
        ranks = [s.rank for s in statuses if s.code == Status.IN_QUEUE and s.rank is not None]
        if len(ranks) >= 2:
            return ranks
        time.sleep(0.2)
    return []


def _fill_the_api_queue(pool: ThreadPoolExecutor, url: str, ctx) -> list:
    """One API ask waits on the (held) model lock, `api_model_waiting` more wait for their turn."""
    def ask() -> int:
        with httpx.Client(base_url=url, timeout=90, trust_env=False) as client:
            return client.post("/api/v1/ask", json={"question": TRACKS_QUESTION}).status_code

    futures = [pool.submit(ask) for _ in range(1 + ctx.options.api_model_waiting)]
    deadline = time.monotonic() + 20
    while ctx.model_turns.waiting < ctx.options.api_model_waiting and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ctx.model_turns.waiting == ctx.options.api_model_waiting
    return futures


def test_model_turns_let_the_engines_slots_run_together_and_queue_the_rest():
    from service.web import Busy, ModelTurns

    turns = ModelTurns(max_waiting=1, max_running=2)
    inside, release = threading.Semaphore(0), threading.Event()

    def hold() -> None:
        with turns.turn():
            inside.release()
            release.wait(10)

    holders = [threading.Thread(target=hold) for _ in range(3)]
    for holder in holders:
        holder.start()
    assert inside.acquire(timeout=5) and inside.acquire(timeout=5), "two run at once"
    deadline = time.monotonic() + 5
    while turns.waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert turns.waiting == 1 and not inside.acquire(timeout=0.2), "the third waits for a slot"
    with pytest.raises(Busy):
        with turns.turn():
            pass
    release.set()
    for holder in holders:
        holder.join(10)
    assert inside.acquire(timeout=5), "and runs once one ends"


def test_a_fake_generator_without_slots_runs_one_model_request_at_a_time(tmp_path):
    class Fake:
        name = "fake"

    from service.library import Library
    from service.settings import Settings

    ctx = WebContext(Library(Settings(home=tmp_path / "home"), embedder=None), generator=Fake())
    assert ctx.model_turns.max_running == 1
