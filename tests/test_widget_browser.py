"""The embeddable widget in real headless Chromium, on a help page served from another origin.

The API (uvicorn, real model) runs on http://localhost:A; the demo help page
(`examples/help-page/index.html`) is served on http://127.0.0.1:B with its
script tag pointed at the API, so every call the widget makes is cross-origin
and passes only through the CORS allow-list. axe-core (4.12.1, vendored by the
axe-playwright-python package, MPL-2.0) checks the page with the panel open.
"""
from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from api.devserver import api_server
from conftest import require_browser
from webapp.devserver import free_port

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "help-page" / "index.html"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
POLICY_URL = "https://onedu.ro/confidentialitate"
CONTACT = "dpo@onedu.ro"

require_browser("axe_playwright_python")

from axe_playwright_python.sync_playwright import Axe  # noqa: E402 (after require_browser)
from playwright.sync_api import expect  # noqa: E402 (after require_browser)


@pytest.fixture(scope="module")
def api(tmp_path_factory, shipped_index):
    """The API on the ONedu pages with a `url:` each (citations become links) and a contact."""
    folder = tmp_path_factory.mktemp("widget")
    corpus = Path(shutil.copytree(ROOT / "corpus", folder / "corpus"))
    for page in corpus.glob("*.md"):
        text = page.read_text(encoding="utf-8")
        page.write_text(text.replace("---\n", f"---\nurl: {POLICY_URL}/{page.stem}\n", 1), encoding="utf-8")
    shutil.copytree(shipped_index / "cache", folder / "index" / "cache")   # vectors already computed
    page_port = free_port()
    env = {"PRIVACY_INDEX_DIR": str(folder / "index"), "PRIVACY_CORPUS_DIR": str(corpus),
           "PRIVACY_CONTACT": CONTACT, "PRIVACY_CORS_ORIGINS": f"http://127.0.0.1:{page_port}",
           "PRIVACY_RATE_LIMIT": "0"}
    with api_server(env, timeout=300) as url:
        yield url.replace("127.0.0.1", "localhost"), page_port


@pytest.fixture(scope="module")
def help_page(api):
    """The demo page, as a help site would serve it, with its script tag pointing at the API."""
    api_url, port = api
    html = DEMO.read_text(encoding="utf-8").replace("http://localhost:8000", api_url).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}/"
    server.shutdown()


@pytest.fixture
def page(browser, help_page):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ro-RO")
    page = context.new_page()
    outside, dialogs, errors = [], [], []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
        ("http://127.0.0.1", "http://localhost", "data:")) else None)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(help_page)
    page.locator(".launcher").wait_for()
    yield page
    assert not outside, outside
    assert not dialogs, dialogs
    assert not errors, errors
    context.close()


def _active(page) -> str:
    """What has keyboard focus, looking inside the widget's shadow root."""
    return page.evaluate("""() => {
        const a = document.activeElement;
        const inner = a && a.shadowRoot ? a.shadowRoot.activeElement : null;
        return inner ? 'widget:' + (inner.id || inner.className) : (a ? a.tagName.toLowerCase() : '');
    }""")


def _open_with_keyboard(page) -> None:
    for _ in range(30):
        page.keyboard.press("Tab")
        if _active(page) == "widget:launcher":
            break
    assert _active(page) == "widget:launcher"
    page.keyboard.press("Enter")
    expect(page.locator(".panel")).to_be_visible()
    assert _active(page) == "widget:pp-q"


def _ask(page, question: str):
    page.keyboard.type(question)
    page.keyboard.press("Enter")
    answer = page.locator(".log .a").last
    expect(answer).not_to_have_text("Se caută răspunsul…", timeout=30_000)
    return answer


def test_keyboard_only_asks_and_gets_quotes_with_links(page):
    _open_with_keyboard(page)
    answer = _ask(page, "Vindeți datele mele?")
    expect(answer.locator("blockquote").first).to_contain_text("Nu vindem nimănui nicio informație")
    link = answer.locator(".cite a").first
    expect(link).to_have_text("Partajarea datelor › Cum partajăm informații?")
    assert link.get_attribute("href") == f"{POLICY_URL}/partajarea-datelor#cum-partajam-informatii"
    assert page.locator(".log").get_attribute("aria-live") == "polite"
    assert page.locator("#pp-asistent-confidentialitate").get_attribute("lang") == "ro"
    assert _active(page) == "widget:pp-q"              # ready for the next question
    page.keyboard.press("Escape")
    expect(page.locator(".panel")).to_be_hidden()
    assert _active(page) == "widget:launcher"          # focus goes back where it came from
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.keyboard.press("Enter")
    page.screenshot(path=str(SCREENSHOTS / "widget_answer.png"))


def test_uncovered_question_says_so_with_the_contact(page):
    _open_with_keyboard(page)
    answer = _ask(page, "Cât timp păstrați datele mele?")
    expect(answer.locator(".msg")).to_contain_text("Politica de confidențialitate nu spune")
    contact = answer.locator(".contact a")
    expect(contact).to_have_text(CONTACT)
    assert contact.get_attribute("href") == f"mailto:{CONTACT}"
    assert not answer.locator("blockquote").count()


def test_example_questions_and_markup_shown_as_text(page):
    page.locator(".launcher").click()
    page.locator(".examples button").first.click()
    expect(page.locator(".log .a blockquote").first).to_be_visible(timeout=30_000)
    hostile = "<img src=x onerror=alert(1)> **bold**"
    page.locator("#pp-q").fill(hostile)
    page.locator(".send").click()
    expect(page.locator(".log .q").last).to_have_text(hostile)
    assert page.locator(".log img").count() == 0


def test_no_serious_or_critical_accessibility_violation(page):
    _open_with_keyboard(page)
    _ask(page, "Vindeți datele mele?")
    _ask(page, "Cât timp păstrați datele mele?")
    results = Axe().run(page)
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
           for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, bad


def test_the_host_page_and_the_widget_keep_their_own_styles(page):
    before = page.evaluate("getComputedStyle(document.querySelector('h2')).color")
    page.locator(".launcher").click()
    _ask(page, "Vindeți datele mele?")
    assert page.evaluate("getComputedStyle(document.querySelector('h2')).color") == before == "rgb(122, 46, 14)"
    # The site says `button { background: #ffeb3b !important }` and `blockquote { color: #b00020 }`: not in here.
    assert page.locator(".send").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 79, 138)"
    assert page.locator("blockquote").first.evaluate("e => getComputedStyle(e).color") == "rgb(27, 27, 27)"


def test_works_on_a_phone_screen(browser, help_page):
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True,
                                  locale="ro-RO")
    page = context.new_page()
    page.goto(help_page)
    page.locator(".launcher").tap()
    panel = page.locator(".panel").bounding_box()
    assert panel["x"] == 0 and panel["width"] == 375 and panel["height"] == 667   # the whole screen
    page.locator("#pp-q").fill("Vindeți datele mele?")
    page.locator(".send").tap()
    expect(page.locator(".log .a blockquote").first).to_be_visible(timeout=30_000)
    box = page.locator(".send").bounding_box()
    assert box["x"] + box["width"] <= 375 and box["height"] >= 44   # reachable, big enough to tap
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget_phone.png"))
    context.close()
