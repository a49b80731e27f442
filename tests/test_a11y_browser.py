"""Accessibility and roles in real headless Chromium: axe-core on every screen, at desktop and phone sizes.

axe-core 4.12.1 comes vendored in the `axe-playwright-python` package (axe.min.js,
MPL-2.0, pinned in requirements.txt); it runs inside the page, offline. For each
of the chat, "Pentru echipa de suport" and "Evaluare", at 1366x768 and 390x844:
no serious or critical violation, `<html lang="ro">`, and a screenshot in
artifacts/screenshots/ (not in git). Keyboard-only use is tested separately.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import require_browser
from webapp.a11y import COPY_LABEL
from webapp.devserver import (
    INPUT,
    READY,
    TEST_STAFF_TOKEN,
    TOKEN_FIELD,
    app_server,
    unlock_staff,
)

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
AXE_RESULTS = ROOT / "artifacts" / "axe"
QUESTION = "cui partajați datele mele?"
FOLLOW_UP = "și în ce țări?"
CITATION = "Partajarea datelor › Cum partajăm informații?"
WHERE = "Partajarea datelor › Unde sunt partajate informațiile?"
LEAD_TEXT = "Parteneri și terți cu care partajăm informații:"
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}
BLOCKING = {"serious", "critical"}
SCROLLER = "[data-testid=stAppScrollToBottomContainer], [data-testid=stMain]"

require_browser("axe_playwright_python")

from axe_playwright_python.sync_playwright import Axe  # noqa: E402 (after require_browser)


@pytest.fixture(scope="module")
def server(shipped_index):
    env = {"PRIVACY_INDEX_DIR": str(shipped_index), "PRIVACY_CORPUS_DIR": str(ROOT / "corpus"),
           "PRIVACY_STAFF_TOKEN": TEST_STAFF_TOKEN}
    with app_server(env) as url:
        yield url


def _violations(page, name: str) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now, one line each.

    Every violation, whatever its impact, is also saved to artifacts/axe/<name>.json for a person to read.
    """
    results = Axe().run(page, options={"resultTypes": ["violations"]})
    found = results.response["violations"]
    AXE_RESULTS.mkdir(parents=True, exist_ok=True)
    (AXE_RESULTS / f"{name}.json").write_text(json.dumps(
        [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]} for v in found],
        ensure_ascii=False, indent=1), encoding="utf-8")
    return [f"{v['impact']} {v['id']}: {[n['target'] for n in v['nodes']][:3]} {v['nodes'][0].get('failureSummary')}"
            for v in found if v["impact"] in BLOCKING]


def _screenshot(page, name: str) -> None:
    """The whole screen: Streamlit scrolls inside a container, so grow the viewport to fit it, then restore."""
    size = page.viewport_size
    height = page.evaluate(f"document.querySelector('{SCROLLER}')?.scrollHeight")
    if height:
        page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 8000)})
        page.evaluate(f"document.querySelector('{SCROLLER}').scrollTo(0, 0)")
        page.wait_for_timeout(500)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    page.set_viewport_size(size)


def _ask(page, question: str, citation: str) -> None:
    box = page.get_by_placeholder(INPUT)
    box.fill(question)
    box.press("Enter")
    page.get_by_text(citation, exact=True).last.wait_for(timeout=60_000)


def _lang(page) -> str:
    return page.evaluate("document.documentElement.lang")


def _go(page, name: str, phone: bool) -> None:
    """Follow a sidebar link, as a person would (on a phone the sidebar opens, then closes)."""
    if phone:
        page.get_by_test_id("stExpandSidebarButton").click()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    if phone:
        page.wait_for_timeout(800)
        page.get_by_test_id("stSidebarCollapseButton").locator("button").click()


@pytest.mark.parametrize("size", list(SIZES))
def test_every_screen_passes_axe_in_romanian(server, browser, size):
    width, height = SIZES[size]
    phone = size == "phone"
    context = browser.new_context(viewport={"width": width, "height": height}, locale="ro-RO",
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        # A visitor: the chat alone, no menu, no staff tools.
        page.goto(server)
        page.get_by_text(READY).wait_for(timeout=60_000)
        assert _lang(page) == "ro"
        assert page.get_by_test_id("stSidebarNav").count() == 0
        assert page.get_by_text("Evaluare").count() == 0
        _ask(page, QUESTION, CITATION)
        # The answer is announced: the live region holds its first passage.
        page.wait_for_function("document.getElementById('pp-live')?.textContent.includes('Parteneri și terți')",
                               timeout=10_000)
        live = page.locator("#pp-live")
        assert live.get_attribute("aria-live") == "polite" and live.get_attribute("role") == "status"
        assert not page.get_by_text("Răspuns pentru e-mail", exact=True).count()
        page.wait_for_timeout(800)   # the fade of a rerun is over
        assert _violations(page, f"chat-{size}") == [], "chat"
        _screenshot(page, f"a11y-chat-{size}.png")

        # Support staff: /echipa asks for the token, which unlocks the staff view in this session.
        page.goto(f"{server}/echipa")
        page.get_by_label(TOKEN_FIELD).wait_for(timeout=60_000)
        assert _lang(page) == "ro"
        assert _violations(page, f"login-{size}") == [], "login"
        _screenshot(page, f"a11y-login-{size}.png")
        unlock_staff(page, server)
        assert _lang(page) == "ro"
        page.get_by_role("heading", name="Pentru echipa de suport").wait_for()
        _ask(page, QUESTION, CITATION)
        page.get_by_text("Răspuns pentru e-mail", exact=True).wait_for()
        _ask(page, FOLLOW_UP, WHERE)   # a follow-up, answered in the context of the question before it
        page.get_by_text("Am citit întrebarea în continuarea celei anterioare").first.wait_for()
        page.wait_for_timeout(800)
        # The scores table fits the screen: no wider than the chat message that holds it.
        overflow = page.evaluate("""[...document.querySelectorAll('.pp-scores')].map(t =>
            t.getBoundingClientRect().right
            - t.closest('[data-testid=stChatMessage]').getBoundingClientRect().right)""")
        assert overflow and max(overflow) <= 1, overflow
        assert _violations(page, f"staff-{size}") == [], "staff view"
        # One click copies the reply, greeting to closing, citation included.
        page.get_by_role("button", name=COPY_LABEL).last.click()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("Bună ziua,") and f"({WHERE})" in copied and "Echipa de suport" in copied
        _screenshot(page, f"a11y-staff-{size}.png")

        # Evaluare, through the menu.
        _go(page, "Evaluare", phone)
        page.get_by_role("heading", name="Evaluare", exact=True).wait_for(timeout=60_000)
        page.get_by_role("button", name="Rulează evaluarea").click()
        page.get_by_text("Rezultatele pentru").wait_for(timeout=180_000)
        page.get_by_role("button", name="Descarcă raportul (HTML)").wait_for()
        page.wait_for_timeout(1500)
        assert _lang(page) == "ro"
        if not phone:   # wide layout: the tables get the screen's width, not the chat's column
            assert page.get_by_test_id("stMainBlockContainer").bounding_box()["width"] > 1000
        # The chart has room for its bars: the plot is at least half the chart's width.
        chart = page.get_by_test_id("stVegaLiteChart").first
        chart.scroll_into_view_if_needed()
        assert chart.bounding_box()["width"] > 0.8 * (width - 60 if phone else 600)
        assert _violations(page, f"evaluare-{size}") == [], "Evaluare"
        _screenshot(page, f"a11y-evaluare-{size}.png")
    finally:
        context.close()


def _focused(page) -> dict:
    return page.evaluate("""(() => { const e = document.activeElement;
        return {tag: e.tagName, testid: e.getAttribute('data-testid') || '', text: (e.innerText || '').trim()}; })()""")


def _tab_to(page, matches, key: str = "Tab", limit: int = 60) -> dict:
    for _ in range(limit):
        page.keyboard.press(key)
        focused = _focused(page)
        if matches(focused):
            return focused
    raise AssertionError(f"no element reached with {key} in {limit} presses; last: {_focused(page)}")


def test_keyboard_only_example_question_citation(server, browser):
    """No mouse: Tab to an example and press Enter, type a question, open its citation."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ro-RO")
    page = context.new_page()
    try:
        page.goto(server)
        page.get_by_text(READY).wait_for(timeout=60_000)
        example = _tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"].endswith("?"))
        page.keyboard.press("Enter")
        asked = example["text"].splitlines()[-1]   # the button's text after its icon's name
        page.get_by_test_id("stChatMessage").filter(has_text=asked).first.wait_for(timeout=60_000)
        # Focus is back in the input: the next question can be typed straight away.
        page.wait_for_function("document.activeElement?.getAttribute('data-testid') === 'stChatInputTextArea'",
                               timeout=10_000)
        page.keyboard.type(QUESTION)
        page.keyboard.press("Enter")
        page.get_by_text(CITATION, exact=True).last.wait_for(timeout=60_000)
        page.wait_for_function("document.getElementById('pp-live')?.textContent.includes('Parteneri și terți')",
                               timeout=10_000)
        # Back from the input to the newest answer's citation, then open it.
        _tab_to(page, lambda f: f["tag"] == "SUMMARY" and f["text"].endswith(CITATION), key="Shift+Tab")
        page.keyboard.press("Enter")
        # The focused citation's section is open: its text shows, the quoted lines marked.
        page.wait_for_function("""(() => { const d = document.activeElement?.closest('details');
            const m = d && d.open && d.querySelector('.pp-section mark');
            return m && m.getBoundingClientRect().height > 0
                   && d.innerText.includes('Nu vindem nimănui nicio informație'); })()""", timeout=10_000)
        _screenshot(page, "a11y-keyboard-desktop.png")
    finally:
        context.close()


def test_failing_question_opens_in_the_staff_chat(server, browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ro-RO")
    page = context.new_page()
    try:
        unlock_staff(page, server)
        _go(page, "Evaluare", phone=False)
        page.get_by_role("button", name="Rulează evaluarea").click()
        page.get_by_role("button", name="Deschide în chat").click(timeout=180_000)
        page.get_by_role("heading", name="Pentru echipa de suport").wait_for(timeout=60_000)
        page.get_by_text("Răspuns pentru e-mail", exact=True).wait_for(timeout=60_000)
        assert page.get_by_test_id("stChatMessage").count() == 2
    finally:
        context.close()
