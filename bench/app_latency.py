"""How fast the app answers: library, Streamlit rerun, and a real browser on a real server.

    .venv/bin/python bench/app_latency.py [--questions 20]

Builds a private index in a temp dir (the repo's index/ is not touched), then measures
  1. library   retrieval.ask on the shipped questions, in-process, no UI;
  2. rerun     a whole chat-page script run per question (AppTest, no browser);
  3. browser   headless Chromium against `streamlit run app.py`: page load -> first
               answer for the first visitor (cold server) and later visitors, Enter ->
               answer, the server-side time per answer (read from the staff view), and
               five sessions asking at once.
Chromium shares this machine's CPUs with the server, so part 3's server times are an
upper bound for a deployment where the browser runs on the user's own computer.
Results are printed and written to artifacts/app_latency_bench.json.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import retrieval
from retrieval.evaluation import load_questions
from webapp.devserver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TEST_STAFF_TOKEN,
    app_server,
    ask_in_new_session,
    open_chat,
    unlock_staff,
    wait_ready,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "artifacts" / "app_latency_bench.json"
CONCURRENT = ["Cum îmi protejați informațiile?", "Cum mă pot dezabona de la e-mailuri?",
              "Ce faceți dacă primiți un mandat de percheziție?", "Unde sunt stocate informațiile mele?",
              "De ce folosiți informațiile mele?"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": pct(values, .5), "p95": pct(values, .95), "max": round(max(values), 1),
            "mean": round(statistics.fmean(values), 1)}


def library(engine, questions: list[str]) -> dict:
    times = []
    for question in questions:
        started = time.perf_counter()
        retrieval.ask(engine, question, k=3)
        times.append((time.perf_counter() - started) * 1000)
    return summary(times)


def reruns(questions: list[str]) -> dict:
    from streamlit.testing.v1 import AppTest

    times = []
    at = None
    for n, question in enumerate(questions):
        if n % 5 == 0:  # a fresh session every five questions: history stays realistic
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        started = time.perf_counter()
        at.chat_input[0].set_value(question).run()
        times.append((time.perf_counter() - started) * 1000)
        assert not at.exception, at.exception
    return summary(times)


def browser(env: dict, questions: list[str]) -> dict:
    from playwright.sync_api import sync_playwright

    result: dict = {}
    with app_server(env) as url, sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        def visit(question: str) -> tuple[float, float, object, object]:
            context, page, load, enter = ask_in_new_session(
                chromium, url, question,
                lambda p: p.get_by_test_id("stChatMessage").nth(1).get_by_test_id("stExpander").first.wait_for(
                    timeout=60_000))
            return load, enter, context, page

        first, first_enter, context, _ = visit(questions[0])
        context.close()
        later = [visit(q) for q in questions[1:4]]
        for *_, context, _ in later:
            context.close()
        result["first_visit_load_to_answer_s"] = round(first, 2)
        result["first_visit_enter_to_answer_s"] = round(first_enter, 2)
        result["later_visits_load_to_answer_s"] = [round(v[0], 2) for v in later]
        result["later_visits_enter_to_answer_s"] = [round(v[1], 2) for v in later]

        # Server-side time per answer, as the staff view reports it (retrieval + quoting, k=5).
        context, page, box = open_chat(chromium, url)
        unlock_staff(page, url)
        box.wait_for(timeout=60_000)
        server_ms, shown = [], 0
        for question in questions:
            box.fill(question)
            box.press("Enter")
            caption = page.get_by_text("Timp de răspuns pe server").nth(shown)
            caption.wait_for(timeout=60_000)
            shown += 1
            server_ms.append(float(re.search(r"Timp de răspuns pe server: (\d+)", caption.inner_text()).group(1)))
            if shown == 5:  # keep the page short: start a fresh conversation
                page.get_by_text("Conversație nouă").click()
                page.get_by_test_id("stChatMessage").first.wait_for(state="detached")
                shown = 0
        context.close()
        result["server_ms_per_answer_in_browser_session"] = summary(server_ms) if server_ms else None

        # Five sessions press Enter together.
        sessions = []
        for question in CONCURRENT:
            context, page, box = open_chat(chromium, url, width=1100)
            page.goto(url)
            wait_ready(page, box)
            box.fill(question)
            sessions.append((context, page, box))
        started = time.perf_counter()
        for _, _, box in sessions:
            box.press("Enter")
        answered = []
        for context, page, _ in sessions:
            page.get_by_test_id("stChatMessage").nth(1).get_by_test_id("stExpander").first.wait_for(timeout=60_000)
            answered.append(round(time.perf_counter() - started, 2))
            context.close()
        result["five_at_once_answered_after_s"] = answered
        chromium.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20, help="questions per measurement")
    args = parser.parse_args()
    items, _ = load_questions(ROOT / "eval" / "questions.jsonl")
    questions = [q.question for q in items][: max(5, args.questions)]

    with tempfile.TemporaryDirectory(prefix="app-bench-") as tmp:
        index = Path(tmp) / "index"
        retrieval.build(ROOT / "corpus", index)
        os.environ["PRIVACY_INDEX_DIR"] = str(index)
        os.environ["PRIVACY_CORPUS_DIR"] = str(ROOT / "corpus")
        engine = retrieval.open_engine(index, corpus_dir=ROOT / "corpus")
        results = {"library_ask_ms": library(engine, questions), "apptest_rerun_ms": reruns(questions)}
        if CHROMIUM.exists():
            results["browser"] = browser({"PRIVACY_INDEX_DIR": str(index),
                                          "PRIVACY_CORPUS_DIR": str(ROOT / "corpus"),
                                          "PRIVACY_STAFF_TOKEN": TEST_STAFF_TOKEN}, questions)
        else:
            results["browser"] = f"skipped: {CHROMIUM} missing"

    results["cpus"] = os.cpu_count()
    results["load_average_1m_after"] = round(os.getloadavg()[0], 2)  # other work on the box skews timings
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
