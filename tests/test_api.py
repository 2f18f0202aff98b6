"""The HTTP API and Gradio's named endpoints against one launched server on 127.0.0.1: reading and the
model's tasks (writing and queueing: test_api_uploads_and_queue).

Fast tier: a fake model behind the Generator protocol (tests/web_support.py), the real sample library
(MiniLM + Chroma + FTS5), the real FastAPI + Gradio app served by uvicorn (fixtures in conftest.py).
"""

from __future__ import annotations

import json

import pytest

from tests.web_support import OFF_TOPIC, TRACKS_QUESTION, tracks_id


@pytest.fixture(scope="module")
def sample_day(web_library) -> str:
    return next(iter(web_library.stats()["feed_dates"]))


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


def test_ask_can_answer_with_the_papers_sentence_alone(api, model):
    calls = len(model.prompts)
    answer = api.post("/api/v1/ask", json={"question": TRACKS_QUESTION, "quote": "only"}).json()
    assert not answer["abstained"] and answer["answer"].startswith("From the paper: “")
    assert len(model.prompts) == calls  # no generation
    assert api.post("/api/v1/ask", json={"question": TRACKS_QUESTION, "quote": "first"}).status_code == 422


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
