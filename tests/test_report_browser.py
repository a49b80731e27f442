"""The evaluation HTML report, opened from disk in real headless Chromium."""
from __future__ import annotations

from conftest import QUESTIONS, ROOT, require_browser

require_browser()


def test_report_renders_its_chart_and_failures_offline(engine, browser, tmp_path):
    from retrieval.evaluation import evaluate, load_questions
    from retrieval.report import write_report

    questions, errors = load_questions(QUESTIONS)
    evaluation = evaluate(engine, questions, k=5, errors=errors)
    report = tmp_path / "raport.html"
    write_report(evaluation, report)

    requests: list[str] = []
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    chart = page.locator("#coverage-chart svg")
    box = chart.bounding_box()
    assert box and box["width"] > 400 and box["height"] > 200
    bars = page.locator("#coverage-chart rect.reach")
    assert bars.count() == len(engine.index.sections)
    widths = [float(bars.nth(i).get_attribute("width")) for i in range(bars.count())]
    assert all(w > 0 for w in widths), "every section is reached by some question"
    assert page.locator("#failures tbody tr").count() == len(evaluation.failures)
    shots = ROOT / "artifacts" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "report.png"), full_page=True)
    page.close()
    assert all(url.startswith("file://") for url in requests), requests


def test_coverage_map_report_opens_offline_and_names_what_is_missing(engine, browser, tmp_path):
    from retrieval.coverage import coverage_html, coverage_map
    from retrieval.report import write_page

    entries = coverage_map(engine)
    report = tmp_path / "acoperire.html"
    write_page(report, "Harta acoperirii GDPR", coverage_html(entries, heading=False))
    requests: list[str] = []
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    rows = page.locator("#coverage-map tbody tr")
    assert rows.count() == len(entries) == len(engine.taxonomy.topics)
    missing = page.locator("#coverage-map tr.missing").all_inner_texts()
    assert any("Perioada de păstrare" in row and "cât timp sunt păstrate datele" in row for row in missing)
    covered = page.locator("#coverage-map tr.ok").all_inner_texts()
    assert any("Securitatea datelor" in row for row in covered)
    shots = ROOT / "artifacts" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "coverage.png"), full_page=True)
    page.close()
    assert all(url.startswith("file://") for url in requests), requests
