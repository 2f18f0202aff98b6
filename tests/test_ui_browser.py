"""The web app in headless Chromium (Debian's package, driven by Playwright), on 127.0.0.1.

One launched app for the module: the sample day plus a paper whose title and abstract carry HTML
payloads. The first test needs no model (escaping, offline, search); the second runs the bundled
model end to end: a streamed, cited answer whose source expands, then a comparison table.
Screenshots go to tmp_path (and to $PAPERBRIEF_SCREENSHOTS if set, e.g. to refresh docs/).
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from index.models import Paper, ParseResult
from index.sources import parse_file
from service.library import Library
from service.settings import Settings
from tests.conftest import SAMPLE_PAGE

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUESTION = "What does TracksTo4D take as input?"
EVIL = Paper(
    id="2401.66666",
    title='<img src=x onerror="window.__pwned=1">Evil <script>window.__pwned=2</script> feed paper',
    abstract=('We study <script>window.__pwned=3</script> markup smuggled into paper feeds. '
              'A second sentence hides <img src=x onerror="window.__pwned=4"> an image.'),
    source="jsonl", url="javascript:window.__pwned=5", feed_dates=(date.today(),),
)
# Records every streamed state of the answer, so the test can tell streaming from a single update.
WATCH_STREAM = """() => {
  window.__partials = [];
  new MutationObserver(() => {
    const node = document.querySelector('#pb-chat .pb-streaming');
    if (node) window.__partials.push(node.textContent);
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, minilm):
    from service.web import ServeOptions, WebContext
    from ui.server import create_app, serve_in_background

    library = Library(Settings(home=tmp_path_factory.mktemp("browser") / "home"), embedder=minilm)
    library.ingest([parse_file(SAMPLE_PAGE)], feed_date=date.today())
    library.ingest([ParseResult(papers=(EVIL,))])  # straight in: the parsers would strip the tags
    # The real shared model, loaded at the first question; no automatic TL;DRs (they'd queue first).
    running = serve_in_background(create_app(WebContext(library, ServeOptions(auto_tldr=False))))
    yield running.url
    running.stop()
    library.close()


@pytest.fixture(scope="module")
def fake_model_url(tmp_path_factory, minilm):
    """A second app, with a fake model that can be held and TL;DRs written when the page opens."""
    from service.web import ServeOptions, WebContext
    from tests.web_support import FakeModel
    from ui.server import create_app, serve_in_background

    library = Library(Settings(home=tmp_path_factory.mktemp("browser-fake") / "home"), embedder=minilm)
    library.ingest([parse_file(SAMPLE_PAGE)], feed_date=date(2026, 1, 2))
    model = FakeModel()
    running = serve_in_background(create_app(WebContext(library, ServeOptions(auto_tldr=True), generator=model)))
    yield running.url, model
    running.stop()
    library.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):  # browser first: it skips when chromium is missing
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.requested = []  # every URL the page asked for
    opened.dialogs = []  # an alert() from a payload would land here
    opened.on("request", lambda request: opened.requested.append(request.url))
    opened.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    opened.goto(app_url)
    opened.wait_for_selector(".pb-paper", timeout=60_000)
    yield opened
    context.close()


def screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    if target := os.environ.get("PAPERBRIEF_SCREENSHOTS"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)
    return path


def assert_offline(page) -> None:
    hosts = {urlsplit(url).hostname for url in page.requested if url.startswith(("http:", "https:", "ws"))}
    assert hosts == {"127.0.0.1"}, f"requests left 127.0.0.1: {sorted(hosts)}"


def assert_nothing_ran(page) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []
    assert page.locator('img[src="x"]').count() == 0


def test_papers_render_escaped_offline_and_search_works(page, tmp_path):
    # The list may be re-rendered once the day's default is resolved: wait for the final one.
    page.wait_for_function("document.querySelectorAll('.pb-paper').length === 31", timeout=30_000)
    evil = page.locator('.pb-paper[data-paper-id="2401.66666"]')
    assert '<img src=x onerror="window.__pwned=1">Evil <script>' in evil.locator("h3").inner_text()
    assert evil.locator("a").count() == 0  # a javascript: URL is never a link
    evil.locator("summary").click()
    assert "<script>window.__pwned=3</script>" in evil.locator("details").inner_text()
    page.fill("#pb-search textarea", "markup smuggled into paper feeds")
    page.press("#pb-search textarea", "Enter")
    first = page.locator("#pb-search-results .pb-hit").first
    first.wait_for(timeout=30_000)
    assert first.get_attribute("data-paper-id") == "2401.66666" and "<script>" in first.inner_text()
    screenshot(page, tmp_path, "today")
    assert_nothing_ran(page)
    assert_offline(page)


def test_tldrs_fill_in_while_the_page_stays_usable(browser, fake_model_url, tmp_path):
    url, model = fake_model_url
    model.hold()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_selector(".pb-paper", timeout=60_000)  # listed at once, while the model is held
        # the newest day with papers (today has none), every TL;DR still waiting for the held model
        page.wait_for_function("document.querySelectorAll('.pb-paper').length === 30"
                               " && document.querySelectorAll('.pb-tldr.pb-waiting').length === 30", timeout=30_000)
        page.fill("#pb-search textarea", "speeding up diffusion sampling")
        page.press("#pb-search textarea", "Enter")
        page.locator("#pb-search-results .pb-hit").first.wait_for(timeout=30_000)  # search answers meanwhile
        model.release()
        page.wait_for_function("document.querySelectorAll('.pb-tldr.pb-waiting').length === 0", timeout=60_000)
        assert "30 TL;DRs written" in page.inner_text("#pb-today-papers")
        screenshot(page, tmp_path, "today-tldrs")
        page.click("#pb-day input")
        page.get_by_role("option", name="last-7-days").click()
        page.wait_for_function("document.querySelectorAll('.pb-paper').length === 0", timeout=30_000)
        # the heading settles after the (empty) TL;DR pass finishes
        page.wait_for_function(
            "document.querySelector('#pb-today-papers').innerText.includes('0 papers for last-7-days')",
            timeout=30_000,
        )
    finally:
        model.release()
        context.close()


def test_chat_abstains_distinctly_keeps_context_and_shows_the_queue(browser, fake_model_url):
    url, model = fake_model_url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    first, second = context.new_page(), context.new_page()
    try:
        for page in (first, second):
            page.goto(url)
            page.get_by_role("tab", name="Ask").click()
        ask(first, "What is the boiling point of ethanol?")
        first.wait_for_selector("#pb-chat .pb-abstained", timeout=30_000)
        assert "Not in the indexed papers." in first.inner_text("#pb-chat .pb-abstained")
        model.hold()
        ask(first, QUESTION)
        assert model.entered.wait(30)
        ask(second, QUESTION)  # waits behind the first: its place in line is shown
        second.wait_for_function("/queue/i.test(document.querySelector('#pb-chat').parentElement.innerText)",
                                 timeout=30_000)
        model.release()
        first.wait_for_selector("#pb-chat .pb-answered", timeout=30_000)
        ask(first, "Does it need 3D supervision?")
        first.wait_for_function("document.querySelectorAll('#pb-chat .pb-answered').length === 2", timeout=30_000)
        assert "Earlier question: " + QUESTION in model.prompts[-1]  # the follow-up kept the conversation
        second.wait_for_selector("#pb-chat .pb-answered", timeout=30_000)
    finally:
        model.release()
        context.close()


def test_upload_ingests_with_a_report(browser, fake_model_url, tmp_path):
    url, _ = fake_model_url
    upload = tmp_path / "widgets.jsonl"
    upload.write_text('{"id": "2509.00001", "title": "Widget sorting", "abstract": "We sort widgets fast."}\n')
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(url)
        page.get_by_role("tab", name="Library").click()
        page.locator("#pb-upload input[type=file]").set_input_files(str(upload))
        page.click("#pb-ingest")
        page.wait_for_function("document.querySelector('#pb-ingest-report').innerText.includes('(1 new)')",
                               timeout=60_000)
        page.wait_for_function("document.querySelector('#pb-library-papers').innerText.includes('Widget sorting')",
                               timeout=30_000)
    finally:
        context.close()


def ask(page, question: str) -> None:
    page.fill("#pb-question textarea", question)
    page.click("#pb-ask")


def check_a_quote_only_answer(page) -> None:
    """"The papers' sentence only" answers a fact question with the abstract's sentence, cited."""
    page.get_by_text("Filters").click()
    page.get_by_label("The papers' sentence only (no generation, instant)").check()
    before = page.locator('#pb-chat .pb-turn[data-kind="fact"]').count()
    ask(page, "By how much does TracksTo4D reduce runtime?")
    turn = page.locator('#pb-chat .pb-turn[data-kind="fact"]').nth(before)
    turn.locator(".pb-answered").wait_for(timeout=120_000)
    assert turn.locator(".pb-answered").inner_text().startswith("From the paper: “")
    assert "95" in turn.inner_text() and turn.locator("a.pb-cite").count() == 1


def check_list_and_compare_answers(page, tmp_path) -> None:
    """A list question answers one line per paper, its evidence behind a click; a compare question
    answers with the short answer over the table."""
    ask(page, "Which papers are about medical image segmentation?")  # a list: one line per paper
    listed = page.locator('#pb-chat .pb-turn[data-kind="list"] li.pb-listed')
    listed.first.wait_for(timeout=240_000)
    assert listed.count() >= 2 and "Segmentation" in page.inner_text('#pb-chat .pb-turn[data-kind="list"]')
    evidence = listed.first.locator("blockquote")
    assert not evidence.is_visible()
    listed.first.locator("summary").click()  # the evidence sentence opens on a click
    assert evidence.is_visible() and evidence.inner_text().strip()
    ask(page, "Compare TracksTo4D and ENEL")  # a compare: the short answer over the table
    turn = page.locator('#pb-chat .pb-turn[data-kind="compare"]')
    turn.locator("table.pb-compare").wait_for(timeout=300_000)
    assert turn.locator("table.pb-compare tbody tr").count() == 2
    assert turn.locator(".pb-answered a.pb-cite").count() >= 2
    screenshot(page, tmp_path, "ask-kinds")


@pytest.mark.model
def test_ask_streams_cited_answers_of_each_kind_then_compare_shows_the_table(page, tmp_path):
    page.get_by_role("tab", name="Ask").click()
    page.evaluate(WATCH_STREAM)
    ask(page, QUESTION)
    page.wait_for_selector("#pb-chat .pb-answered, #pb-chat .pb-abstained", timeout=240_000)
    partials = [text for text in page.evaluate("window.__partials") if text.strip("▍ ")]
    assert len(set(partials)) >= 2, "the answer arrived in one piece, not streamed"
    assert page.locator("#pb-chat .pb-answered").count() == 1, page.inner_text("#pb-chat")
    assert page.locator("#pb-chat .pb-answered a.pb-cite").count() >= 1
    source = page.locator("#pb-chat details.pb-source").first
    assert "Point Track" in source.locator("summary").inner_text()
    assert not source.locator("mark").first.is_visible()
    page.locator("#pb-chat a.pb-cite").first.click()  # the [n] marker links to its source…
    source.locator("summary").click()  # …which expands to the abstract, cited sentences highlighted
    assert source.evaluate("node => node.open") and source.locator("mark").first.is_visible()
    screenshot(page, tmp_path, "ask")

    check_list_and_compare_answers(page, tmp_path)
    check_a_quote_only_answer(page)

    page.get_by_role("tab", name="Compare").click()
    page.fill("#pb-compare-topic textarea", "3D structure from casual videos")
    page.locator("#pb-compare-count input[type=number]").fill("2")
    page.locator("#pb-compare-count input[type=number]").press("Tab")
    page.click("#pb-compare")
    table = page.locator("#pb-compare-table table.pb-compare")
    table.wait_for(timeout=300_000)
    assert table.locator("tbody tr").count() == 2
    assert [h.inner_text() for h in table.locator("thead th").all()] == [
        "Paper", "Problem", "Method", "Data", "Key result"]
    assert "Similarities and differences." in page.inner_text("#pb-compare-table")
    screenshot(page, tmp_path, "compare")
    assert_nothing_ran(page)
    assert_offline(page)
