"""The HTTP API and Gradio's named endpoints against one launched server on 127.0.0.1.

Fast tier: a fake model behind the Generator protocol (it can be held, to test queueing), the real
sample library (MiniLM + Chroma + FTS5), the real FastAPI + Gradio app served by uvicorn.
"""

from __future__ import annotations

import json
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

from index.text import sentences
from service.web import ServeOptions, UploadRejected, WebContext, check_upload

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


@pytest.fixture(scope="module")
def model():
    return FakeModel()


@pytest.fixture(scope="module")
def ctx(web_library, model):
    return WebContext(web_library, ServeOptions(auto_tldr=False, api_model_waiting=2, queue_size=6,
                                                max_upload_bytes=64 * 1024), generator=model)


@pytest.fixture(scope="module")
def url(ctx, local_only):
    from ui.server import create_app, serve_in_background

    running = serve_in_background(create_app(ctx))
    yield running.url
    running.stop()


@pytest.fixture(scope="module")
def api(url):
    with httpx.Client(base_url=url, timeout=60, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module")
def gradio(url):
    return Client(url, verbose=False, download_files=False)


@pytest.fixture(scope="module")
def sample_day(web_library) -> str:
    return next(iter(web_library.stats()["feed_dates"]))


def tracks_id(api) -> str:
    return next(p["id"] for p in api.get("/api/v1/papers").json() if "Point Track" in p["title"])


# --- reading --------------------------------------------------------------------------------------


def test_papers_stats_and_one_paper(api, sample_day):
    papers = api.get("/api/v1/papers", params={"date": sample_day}).json()
    assert len(papers) == 30 and all(sample_day in p["feed_dates"] for p in papers)
    assert api.get("/api/v1/papers", params={"date": "1999-01-01"}).json() == []
    one = api.get(f"/api/v1/papers/{papers[0]['id']}").json()
    assert one["title"] == papers[0]["title"]
    assert api.get("/api/v1/papers/no-such-paper").status_code == 404
    stats = api.get("/api/v1/stats").json()
    assert stats["papers"] >= 30 and stats["feed_dates"][sample_day] == 30


def test_search_with_filters_and_strict_bodies(api, sample_day):
    hits = api.post("/api/v1/search", json={"query": "speeding up diffusion sampling", "k": 3}).json()
    assert len(hits) == 3 and "Diffusion" in hits[0]["paper"]["title"] and hits[0]["sentences"]
    dated = api.post("/api/v1/search", json={"query": "diffusion", "date": "1999-01-01"}).json()
    assert dated == []
    assert api.post("/api/v1/search", json={"query": "diffusion", "date": sample_day, "sources": ["hf-page"],
                                            "mode": "bm25", "k": 1}).json()[0]["bm25_rank"] == 1
    assert api.post("/api/v1/search", json={"query": "x", "limit": 3}).status_code == 422  # unknown field
    assert api.post("/api/v1/search", json={"query": ""}).status_code == 422
    bad_date = api.post("/api/v1/search", json={"query": "x", "date": "someday"})
    assert bad_date.status_code == 400 and "not a date" in bad_date.json()["detail"]


def test_openapi_docs_list_every_endpoint(api):
    assert api.get("/docs").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/search", "/api/v1/ask", "/api/v1/ask/stream", "/api/v1/tldr", "/api/v1/compare",
                 "/api/v1/digest", "/api/v1/ingest", "/api/v1/ingest/file", "/api/v1/papers", "/api/v1/stats"):
        assert path in paths, path


# --- the model's tasks ----------------------------------------------------------------------------


def test_ask_answers_with_a_checked_citation_and_keeps_the_conversation(api, model):
    first = api.post("/api/v1/ask", json={"question": TRACKS_QUESTION}).json()
    assert not first["abstained"] and "[1]" in first["answer"]
    assert "Point Track" in first["citations"][0]["title"] and first["citations"][0]["sentences"]
    follow = api.post("/api/v1/ask", json={"question": "Does it need 3D supervision?",
                                           "conversation_id": first["conversation_id"]}).json()
    assert follow["conversation_id"] == first["conversation_id"]
    assert "Earlier question: " + TRACKS_QUESTION in model.prompts[-1]
    assert "Point Track" in follow["passages"][0]["title"]  # the follow-up stays on the paper it asked about


def test_ask_abstains_without_calling_the_model(api, model):
    calls = len(model.prompts)
    answer = api.post("/api/v1/ask", json={"question": OFF_TOPIC}).json()
    assert answer["abstained"] and answer["answer"] == "The indexed papers don't answer this."
    assert len(model.prompts) == calls


def test_ask_stream_sends_ndjson_events(api):
    with api.stream("POST", "/api/v1/ask/stream", json={"question": TRACKS_QUESTION}) as response:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in response.iter_lines() if line]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "sources" and kinds[-1] == "answer" and kinds.count("token") >= 3
    streamed = "".join(e["text"] for e in events if e["type"] == "token")
    assert streamed.strip() == events[-1]["answer"] and events[-1]["conversation_id"]


def test_tldr_is_cached(api):
    pid = tracks_id(api)
    first = api.post("/api/v1/tldr", json={"paper_ids": [pid]}).json()
    again = api.post("/api/v1/tldr", json={"paper_ids": [pid]}).json()
    assert first[0]["paper_id"] == pid and first[0]["text"] and not first[0]["cached"] and again[0]["cached"]
    assert api.post("/api/v1/tldr", json={"paper_ids": ["nope"]}).status_code == 400
    assert api.post("/api/v1/tldr", json={"style": "haiku"}).status_code == 422


def test_compare_returns_table_markdown_and_csv(api):
    ids = [p["id"] for p in api.get("/api/v1/papers").json()[:2]]
    result = api.post("/api/v1/compare", json={"paper_ids": ids}).json()
    assert [p["id"] for p in result["papers"]] == ids
    assert set(result["papers"][0]["cells"]) == {"problem", "method", "data", "result"}
    assert result["markdown"].startswith("| Paper |") and result["csv"].startswith("letter,id,title")
    by_topic = api.post("/api/v1/compare", json={"query": "diffusion models", "k": 3}).json()
    assert len(by_topic["papers"]) == 3
    assert api.post("/api/v1/compare", json={"paper_ids": ids[:1]}).status_code == 400  # needs 2–8
    assert api.post("/api/v1/compare", json={"paper_ids": ids, "k": 9}).status_code == 422


def test_digest_groups_the_day(api, sample_day):
    result = api.post("/api/v1/digest", json={"date": sample_day, "no_model": True}).json()
    assert result["paper_count"] == 30 and result["markdown"].startswith(f"# Papers of {sample_day}")
    assert sum(len(t["papers"]) for t in result["topics"]) == 30
    empty = api.post("/api/v1/digest", json={"date": "1999-01-01"}).json()
    assert empty["paper_count"] == 0


# --- writing --------------------------------------------------------------------------------------

UPLOAD = "\n".join(json.dumps({"id": f"2501.0000{n}", "title": f"Widget sorting study {n}",
                               "abstract": f"We propose widget method {n} for sorting. It is {n}x faster."})
                   for n in (1, 2)) + "\n"


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


def test_gradio_client_reading_endpoints(gradio, sample_day):
    named = gradio.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/search", "/papers", "/stats", "/ask", "/tldr", "/compare", "/digest", "/ingest", "/remove"} <= set(named)
    hits = gradio.predict(query="speeding up diffusion sampling", k=2, api_name="/search")
    assert len(hits) == 2 and "Diffusion" in hits[0]["paper"]["title"]
    assert len(gradio.predict(date=sample_day, api_name="/papers")) == 30
    assert gradio.predict(api_name="/stats")["papers"] >= 30


def test_gradio_client_ask_streams_events(gradio):
    job = gradio.submit(question=TRACKS_QUESTION, api_name="/ask")
    events = list(job)  # as they arrive
    assert job.result(timeout=60) == events[-1]
    assert events[0]["type"] == "sources" and events[-1]["type"] == "answer"
    assert any(e["type"] == "token" for e in events) and "[1]" in events[-1]["answer"]


def test_gradio_client_model_endpoints(gradio, api, sample_day):
    pid = tracks_id(api)
    assert gradio.predict(paper_ids=[pid], api_name="/tldr")[0]["paper_id"] == pid
    ids = [p["id"] for p in api.get("/api/v1/papers").json()[:2]]
    assert [p["id"] for p in gradio.predict(paper_ids=ids, api_name="/compare")["papers"]] == ids
    assert gradio.predict(date=sample_day, no_model=True, api_name="/digest")["paper_count"] == 30


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
