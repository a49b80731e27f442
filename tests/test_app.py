"""The Streamlit app, driven headlessly with AppTest (no browser, no network)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from webapp.render import md_escape, quote_html, section_html

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120  # the first run loads the model and index (or builds it)

SHARING = "Partajarea datelor › Cum partajăm informații?"
OFF_TOPIC = "Care e rețeta de clătite?"
HOSTILE = "<script>alert(1)</script> **bold**"


@pytest.fixture(scope="session")
def app_env(shipped_index) -> dict[str, str]:
    """Point the app at the session's index (never the repo's) and the shipped pages."""
    return {"PRIVACY_INDEX_DIR": str(shipped_index), "PRIVACY_CORPUS_DIR": str(ROOT / "corpus")}


@pytest.fixture
def env(monkeypatch, app_env):
    for name, value in app_env.items():
        monkeypatch.setenv(name, value)
    return app_env


def start(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def assistant_messages(at: AppTest):
    return [m for m in at.chat_message if m.name == "assistant"]


def plain(markdown: str) -> str:
    """Text of a Markdown string written with md_escape (backslash escapes removed)."""
    return markdown.replace("\\", "")


def html_of(block) -> str:
    return "\n".join(h.value for h in block.get("html"))


def test_first_load_has_title_intro_and_example_questions(env):
    at = start()
    assert not at.exception
    assert at.title[0].value == "Întrebări despre datele dvs."
    assert any("citate cuvânt cu cuvânt" in m.value for m in at.markdown)
    examples = [b.label for b in at.button]
    assert len(examples) >= 3
    assert not at.error


def test_question_gets_verbatim_quotes_with_citations(env):
    at = ask(start(), "cui partajați datele mele?")
    [user] = [m for m in at.chat_message if m.name == "user"]
    assert user.text[0].value == "cui partajați datele mele?"
    [answer] = assistant_messages(at)
    labels = [e.label for e in answer.expander]
    assert md_escape(SHARING) in labels
    quotes = html_of(answer)
    assert '<blockquote class="pp-quote">' in quotes
    assert "Parteneri și terți cu care partajăm informații:" in quotes
    # The citation opens the section in context, quoted lines highlighted.
    [section] = [e for e in answer.expander if e.label == md_escape(SHARING)]
    context = html_of(section)
    assert '<div class="pp-section">' in context and "<mark>" in context
    assert "Nu vindem nimănui nicio informație" in context  # unquoted text of the section is there too


def test_off_topic_question_says_not_covered_and_offers_examples(env):
    at = ask(start(), OFF_TOPIC)
    [answer] = assistant_messages(at)
    assert any("nu pare" in m.value or "nu spune" in m.value for m in answer.markdown)
    assert any("Nu ați găsit răspunsul?" in c.value for c in [*answer.caption, *answer.markdown])
    assert any("doar ca referință" in e.label for e in answer.expander)
    examples = answer.button
    assert len(examples) >= 3
    first = examples[0].label
    examples[0].click().run()
    assert not at.exception
    messages = assistant_messages(at)
    assert len(messages) == 2
    assert [m for m in at.chat_message if m.name == "user"][-1].text[0].value == first
    followup = messages[-1]
    assert not any("nu pare" in m.value or "nu spune" in m.value for m in followup.markdown)
    assert '<blockquote class="pp-quote">' in html_of(followup)
    assert any("›" in e.label for e in followup.expander)


def test_staff_view_shows_scores_filter_and_reply_text(env):
    at = start(staff_mode=True)
    at = ask(at, "cui partajați datele mele?")
    [table] = at.dataframe
    frame = table.value
    assert {"Loc", "Scor", "Pagina", "Secțiune"} <= set(frame.columns)
    assert len(frame) == 5  # default k
    assert frame["Scor"].is_monotonic_decreasing
    [reply] = at.code
    assert "C&C Financial Services SRL" in reply.value and f"({SHARING})" in reply.value
    assert any("timp server" in c.value for c in at.caption)

    at.slider[0].set_value(2).run()
    assert len(at.dataframe[0].value) == 2

    at.slider[0].set_value(9)
    at.multiselect[0].set_value(["Utilizarea datelor"])
    at.run()
    frame = at.dataframe[0].value
    assert set(frame["Pagina"]) == {"Utilizarea datelor"}
    assert "Partajarea datelor" not in at.code[0].value


def test_markup_in_a_question_is_shown_as_text(env):
    at = ask(start(), HOSTILE)
    [user] = [m for m in at.chat_message if m.name == "user"]
    assert [t.value for t in user.text] == [HOSTILE]
    assert not user.markdown and not user.get("html")
    for element in [*at.markdown, *at.caption]:
        assert "<script" not in element.value
    for element in at.get("html"):
        assert "<script" not in element.value
    assert not at.exception


def test_blank_question_gets_the_library_message(env):
    at = ask(start(), "   ")
    [answer] = assistant_messages(at)
    assert "goală" in answer.warning[0].value


def test_rendering_escapes_page_text():
    text = "Intro <b>x</b> **y**\n- item <i>z</i>\n- altul"
    spans = [(0, len("Intro <b>x</b> **y**")), (21, 21 + len("- item <i>z</i>"))]
    rendered = section_html(text, spans)
    assert "<b>" not in rendered and "<i>" not in rendered
    assert "&lt;b&gt;x&lt;/b&gt; **y**" in rendered
    assert "<li><mark>item &lt;i&gt;z&lt;/i&gt;</mark></li>" in rendered
    assert "<li>altul</li>" in rendered
    quote = quote_html("A <script>alert(1)</script>\n- b", gaps_after={0})
    assert "<script" not in quote and "[…]" in quote and "<li>b</li>" in quote
    assert md_escape("Pagina › Secț. [x](y) <b>") == r"Pagina › Secț\. \[x\]\(y\) \<b\>"


def test_evaluation_page_runs_on_the_shipped_set(env):
    at = start()
    at.switch_page("webapp/eval_page.py").run()
    assert not at.exception
    assert at.title[0].value == "Evaluare"
    # The GDPR map needs no question set: what the policy leaves out is there from the start.
    assert any(s.value == "Harta acoperirii GDPR" for s in at.subheader)
    gdpr = at.dataframe[0].value
    assert set(gdpr[gdpr["Acoperită"] == "nu"]["Temă"]) >= {"Perioada de păstrare", "Plângere la autoritate"}
    assert "Securitatea datelor" in set(gdpr[gdpr["Acoperită"] == "da"]["Temă"])
    run = next(b for b in at.button if b.label == "Rulează evaluarea")
    run.click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    shipped = sum(1 for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
                  if line.strip())
    assert metrics["Întrebări"] == str(shipped)
    assert metrics["Corect pe locul 1 (hit@1)"].endswith("%")
    assert at.get("vega_lite_chart"), "coverage chart missing"
    assert any(s.value.startswith("Întrebări greșite") for s in at.subheader)


def test_evaluation_lists_malformed_lines_with_numbers(env):
    good = {"id": "x1", "question": "cui partajați datele mele?",
            "expected_sections": ["Cum partajăm informații?"], "answerable": True}
    lines = [json.dumps(good, ensure_ascii=False), "{nu e json", '{"id": "x2"}', "",
             json.dumps({**good, "id": "x3", "question": OFF_TOPIC, "expected_sections": [], "answerable": False},
                        ensure_ascii=False)]
    at = start()
    at.switch_page("webapp/eval_page.py").run()
    at.radio[0].set_value("Un fișier încărcat").run()
    at.file_uploader[0].set_value(("set.jsonl", "\n".join(lines).encode(), "application/jsonl")).run()
    assert not at.exception
    next(b for b in at.button if b.label == "Rulează evaluarea").click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Întrebări"] == "2"
    errors = at.dataframe[-1].value
    assert list(errors["Linia"]) == [2, 3]
    assert "lipsesc câmpurile" in errors["Problema"].iloc[1]


def test_damaged_index_is_rebuilt_with_progress_then_answers(monkeypatch, index_copy):
    manifest = json.loads((index_copy / "manifest.json").read_text(encoding="utf-8"))
    (index_copy / manifest["generation"] / "chunks.npy").write_bytes(b"not a numpy array")
    monkeypatch.setenv("PRIVACY_INDEX_DIR", str(index_copy))
    monkeypatch.setenv("PRIVACY_CORPUS_DIR", str(ROOT / "corpus"))
    at = start()
    assert not at.exception and not at.error
    [status] = at.get("status")
    assert status.label.startswith("Index construit")
    assert any("deteriorat" in plain(c.value) for c in status.caption)  # the reason is shown while building
    at = ask(at, "cui partajați datele mele?")
    assert any(e.label == md_escape(SHARING) for e in assistant_messages(at)[0].expander)


def test_damaged_index_without_pages_shows_the_message_not_a_traceback(monkeypatch, index_copy, tmp_path):
    manifest = json.loads((index_copy / "manifest.json").read_text(encoding="utf-8"))
    (index_copy / manifest["generation"] / "chunks.npy").write_bytes(b"not a numpy array")
    monkeypatch.setenv("PRIVACY_INDEX_DIR", str(index_copy))
    monkeypatch.setenv("PRIVACY_CORPUS_DIR", str(tmp_path / "no-such-corpus"))
    at = start()
    assert not at.exception
    assert "no-such-corpus" in plain(at.error[0].value)
    assert not at.chat_input  # nothing to ask until it is fixed


def test_malformed_page_shows_the_message_not_a_traceback(monkeypatch, corpus_copy, tmp_path):
    (corpus_copy / "stricata.md").write_text("---\ntitle: [neînchis\n---\n# X\ntext\n", encoding="utf-8")
    monkeypatch.setenv("PRIVACY_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("PRIVACY_CORPUS_DIR", str(corpus_copy))
    at = start()
    assert not at.exception
    assert "stricata.md" in plain(at.error[0].value)


def test_index_path_that_is_a_file_shows_a_message_not_a_traceback(monkeypatch, tmp_path):
    blocker = tmp_path / "index"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("PRIVACY_INDEX_DIR", str(blocker))
    monkeypatch.setenv("PRIVACY_CORPUS_DIR", str(ROOT / "corpus"))
    at = start()
    assert not at.exception
    assert at.error and str(blocker) in plain(at.error[0].value)


def test_missing_pages_show_the_message_not_a_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("PRIVACY_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("PRIVACY_CORPUS_DIR", str(tmp_path / "no-such-corpus"))
    at = start()
    assert not at.exception
    assert "no-such-corpus" in plain(at.error[0].value)


def test_missing_index_is_built_with_progress_then_answers(monkeypatch, tmp_path):
    monkeypatch.setenv("PRIVACY_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("PRIVACY_CORPUS_DIR", str(ROOT / "corpus"))
    at = start()
    assert not at.exception
    [status] = at.get("status")
    assert status.label.startswith("Index construit") and status.state == "complete"
    assert (tmp_path / "index" / "manifest.json").is_file()
    at = ask(at, "cui partajați datele mele?")
    assert any(e.label == md_escape(SHARING) for e in assistant_messages(at)[0].expander)


def test_edited_pages_are_picked_up_by_the_next_session(monkeypatch, index_copy, corpus_copy):
    monkeypatch.setenv("PRIVACY_INDEX_DIR", str(index_copy))
    monkeypatch.setenv("PRIVACY_CORPUS_DIR", str(corpus_copy))
    first = start()
    assert not first.exception and not first.get("status")  # same pages: no rebuild

    page = corpus_copy / "partajarea-datelor.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n# Cât timp păstrăm datele?\n"
                    "Păstrăm datele dvs. cel mult cinci ani de la ultima activitate în cont.\n", encoding="utf-8")
    second = start()
    assert not second.exception
    [status] = second.get("status")
    assert status.label.startswith("Index construit")
    second = ask(second, "Cât timp păstrați datele mele?")
    labels = [e.label for e in assistant_messages(second)[0].expander]
    assert md_escape("Partajarea datelor › Cât timp păstrăm datele?") in labels
