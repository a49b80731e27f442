"""End to end in real headless Chromium: the app as a user opens it, on a real server.

Skipped when /usr/bin/chromium is missing, unless REQUIRE_BROWSER=1 (then it fails).
Timings are printed (run with -s to see them) and saved to artifacts/app_latency.json.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import require_browser
from webapp.devserver import (
    INPUT,
    LOCAL_PREFIXES,
    app_server,
    ask_in_new_session,
    open_chat,
    wait_ready,
)

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
LATENCY_FILE = ROOT / "artifacts" / "app_latency.json"
QUESTION = "cui partajați datele mele?"
CITATION = "Partajarea datelor › Cum partajăm informații?"
HOSTILE = "<script>alert(1)</script> **bold**"

FIRST_ANSWER_BUDGET_S = 5.0
# Asserted with slack: a loaded CI box must not fail the suite, a real regression must.
SLACK = 2.0

# Five sessions at once, each a different question. The expected citation is what
# the library itself answers on the same index (this tests the app, not ranking);
# the five are distinct, so a session shown another's answer cannot pass.
CONCURRENT = [
    "Cum îmi protejați informațiile?",
    "Cum mă pot dezabona de la e-mailuri?",
    "Ce faceți dacă primiți un mandat de percheziție?",
    "Unde sunt stocate informațiile mele?",
    "De ce folosiți informațiile mele?",
]

require_browser()



def _record(**numbers) -> None:
    data = json.loads(LATENCY_FILE.read_text(encoding="utf-8")) if LATENCY_FILE.is_file() else {}
    data.update(numbers)
    LATENCY_FILE.parent.mkdir(parents=True, exist_ok=True)
    LATENCY_FILE.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    for name, value in numbers.items():
        print(f"[app latency] {name}: {value}")


@pytest.fixture(scope="module")
def server(shipped_index):
    """The app on a free port, on the session's index; stopped after the module."""
    env = {"PRIVACY_INDEX_DIR": str(shipped_index), "PRIVACY_CORPUS_DIR": str(ROOT / "corpus")}
    with app_server(env) as url:
        yield url


SCROLLER = "[data-testid=stAppScrollToBottomContainer], [data-testid=stMain]"


def _screenshot(page, name: str) -> None:
    """The whole conversation: Streamlit scrolls inside a container, so grow the viewport to fit it."""
    height = page.evaluate(f"document.querySelector('{SCROLLER}')?.scrollHeight")
    width = page.viewport_size["width"]
    if height:
        page.set_viewport_size({"width": width, "height": min(int(height) + 40, 6000)})
        page.evaluate(f"document.querySelector('{SCROLLER}').scrollTo(0, 0)")
        page.wait_for_timeout(400)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    page.set_viewport_size({"width": width, "height": 900})


def _ask_in_new_page(browser, url: str, question: str, citation: str, outside: list, dialogs: list):
    """Ask once in a fresh session, collecting requests that leave the machine and JS dialogs."""
    def listen(page):
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(LOCAL_PREFIXES) else None)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    return ask_in_new_session(browser, url, question,
                              lambda page: page.get_by_text(citation, exact=True).wait_for(timeout=30_000),
                              page_setup=listen, locale="ro-RO")


def test_question_answered_in_the_browser(server, browser):
    outside, dialogs = [], []
    context, page, cold, cold_enter = _ask_in_new_page(browser, server, QUESTION, CITATION, outside, dialogs)

    assert page.get_by_text("Parteneri și terți cu care partajăm informații:").first.is_visible()
    _screenshot(page, "answer.png")

    # The citation opens the whole section, the quoted lines highlighted.
    page.get_by_text(CITATION, exact=True).click()
    section = page.get_by_test_id("stExpander").filter(has_text=CITATION)
    section.locator(".pp-section mark").first.wait_for()
    assert section.get_by_text("Nu vindem nimănui nicio informație").is_visible()
    _screenshot(page, "section.png")

    # Markup typed by a user is shown literally and never runs.
    box = page.get_by_placeholder(INPUT)
    box.fill(HOSTILE)
    box.press("Enter")
    page.get_by_text(HOSTILE, exact=True).wait_for(timeout=30_000)
    assert page.evaluate("[...document.scripts].filter(s => s.text.includes('alert(1)')).length") == 0
    assert page.locator("strong", has_text="bold").count() == 0
    page.wait_for_timeout(300)
    context.close()

    # A later visitor: the server is warm, the browser cache too (as for a returning user).
    context, page, warm, warm_enter = _ask_in_new_page(browser, server, QUESTION, CITATION, outside, dialogs)
    context.close()

    assert not dialogs, dialogs
    assert not outside, f"requests left the machine: {outside}"
    _record(first_visit_load_to_answer_s=round(cold, 2), first_visit_enter_to_answer_s=round(cold_enter, 2),
            later_visit_load_to_answer_s=round(warm, 2), later_visit_enter_to_answer_s=round(warm_enter, 2))
    assert warm <= FIRST_ANSWER_BUDGET_S * SLACK and cold <= FIRST_ANSWER_BUDGET_S * SLACK * 2


def test_five_sessions_at_once_each_get_their_own_answer(server, browser, engine):
    """Five separate sessions press Enter within milliseconds; each must get its own right answer."""
    import retrieval

    expected = {q: retrieval.ask(engine, q, k=1).quotes[0].citation for q in CONCURRENT}
    assert len(set(expected.values())) == len(CONCURRENT), expected
    sessions = []
    for question, citation in expected.items():
        context, page, box = open_chat(browser, server, width=1100)
        page.goto(server)
        wait_ready(page, box)  # the first script run has finished
        box.fill(question)
        sessions.append((context, page, box, question, citation))

    started = time.perf_counter()
    for _, _, box, _, _ in sessions:
        box.press("Enter")
    pressed = time.perf_counter() - started
    waits = []
    for n, (_, page, _, _, citation) in enumerate(sessions):
        try:
            page.get_by_text(citation, exact=True).wait_for(timeout=60_000)
        except Exception:
            _screenshot(page, f"concurrent-failure-{n}.png")
            raise
        waits.append(round(time.perf_counter() - started, 2))

    for context, page, _, question, _ in sessions:
        text = "\n".join(page.locator('[data-testid="stChatMessage"]').all_inner_texts())
        assert question in text
        others = [q for q in CONCURRENT if q != question]
        assert not any(q in text for q in others), "a session saw another session's question"
        context.close()
    _record(concurrent_sessions=len(sessions), concurrent_enter_spread_s=round(pressed, 3),
            concurrent_all_answered_s=max(waits))
