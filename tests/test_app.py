"""The Streamlit app, driven headlessly with AppTest (no browser, no network)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import retrieval as r
from retrieval.evaluation import parse_questions
from webapp import reply
from webapp.access import STAFF
from webapp.config import DEFAULT_GREETING, reply_templates, staff_token
from webapp.render import md_escape, quote_html, section_html

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120  # the first run loads the model and index (or builds it)

SHARING = "Partajarea datelor › Cum partajăm informații?"
WHERE = "Partajarea datelor › Unde sunt partajate informațiile?"
OFF_TOPIC = "Care e rețeta de clătite?"
HOSTILE = "<script>alert(1)</script> **bold**"
TOKEN = "o-cheie-de-test-destul-de-lunga"
STAFF_PAGE = "webapp/staff_page.py"
EVAL_PAGE = "webapp/eval_page.py"


@pytest.fixture(scope="session")
def app_env(shipped_index) -> dict[str, str]:
    """Point the app at the session's index (never the repo's) and the shipped pages."""
    return {"PRIVACY_INDEX_DIR": str(shipped_index), "PRIVACY_CORPUS_DIR": str(ROOT / "corpus")}


@pytest.fixture
def env(monkeypatch, app_env):
    for name, value in app_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PRIVACY_STAFF_TOKEN", TOKEN)
    for name in ("PRIVACY_REPLY_GREETING", "PRIVACY_REPLY_CLOSING", "PRIVACY_CONTACT"):
        monkeypatch.delenv(name, raising=False)
    return app_env


def start(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def start_staff(page: str = STAFF_PAGE) -> AppTest:
    """A session already unlocked (the login itself is tested on its own), on a staff page."""
    at = start(**{STAFF: True})
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


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


def _score_rows(at: AppTest) -> list[list[str]]:
    [table] = [h.value for h in at.get("html") if h.value.startswith("<table class='pp-scores'")][-1:]
    body = table.split("<tbody>")[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.split("</tr>") if "<td" in row]


def test_staff_view_shows_scores_filter_and_a_reply_to_paste(env):
    at = ask(start_staff(), "cui partajați datele mele?")
    assert at.title[0].value == "Pentru echipa de suport"
    rows = _score_rows(at)
    assert len(rows) == 5  # default k
    scores = [float(row[2]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert rows[0][1] == SHARING.replace("&", "&amp;")
    assert any("Timp de răspuns pe server" in c.value for c in at.caption)
    assert "<th scope='col'>Loc</th>" in next(h.value for h in at.get("html") if h.value.startswith("<table"))

    # The reply: greeting, the pre-selected quotes only, citation, closing; ready in a copyable box.
    boxes = at.checkbox
    expected = r.ask(at_engine(), "cui partajați datele mele?", k=5).quotes
    assert [b.value for b in boxes] == reply.preselected(expected)
    assert boxes[0].value and not boxes[1].value
    [text] = [c.value for c in at.code]
    assert text.startswith("Bună ziua,") and text.rstrip().endswith("Echipa de suport")
    assert "C&C Financial Services SRL" in text and f"({SHARING})" in text
    assert "> " not in text

    # Ticking a second quote puts it in the reply, after the first.
    boxes[2].check().run()
    text = at.code[0].value
    third = expected[2].citation.replace("&", "&amp;") if "&amp;" in text else expected[2].citation
    assert text.index(f"({SHARING})") < text.index(f"({third}")
    boxes = at.checkbox
    boxes[0].uncheck().run()
    assert f"({SHARING})" not in at.code[0].value

    at.slider[0].set_value(2).run()
    assert len(_score_rows(at)) == 2

    at.slider[0].set_value(9)
    at.multiselect[0].set_value(["Utilizarea datelor"])
    at.run()
    assert {row[1].split(" › ")[0] for row in _score_rows(at)} == {"Utilizarea datelor"}
    assert "Partajarea datelor" not in at.code[0].value


def at_engine() -> r.Engine:
    from webapp.config import paths

    return r.open_engine(paths().index, corpus_dir=paths().corpus)


def test_reply_templates_come_from_the_configuration(env, monkeypatch):
    monkeypatch.setenv("PRIVACY_REPLY_GREETING", "Stimată doamnă, stimate domn,")
    monkeypatch.setenv("PRIVACY_REPLY_CLOSING", "Ne găsiți la {contact}.\\nEchipa ONedu")
    monkeypatch.setenv("PRIVACY_CONTACT", "dpo@onedu.ro")
    at = ask(start_staff(), "cui partajați datele mele?")
    text = at.code[0].value
    assert text.startswith("Stimată doamnă, stimate domn,")
    assert text.endswith("Ne găsiți la dpo@onedu.ro.\nEchipa ONedu")


def test_visitors_see_only_the_chat_and_staff_unlock_with_the_token(env):
    at = start()
    assert not at.sidebar.children  # no menu, no staff settings
    for page in (STAFF_PAGE, EVAL_PAGE):
        with pytest.raises(ValueError, match="Known pages"):
            at.switch_page(page)
    at.switch_page("webapp/login_page.py").run()
    at.text_input[0].input("greșit")        # a form: the value goes with the submit click
    at.button[0].click().run()
    assert at.error and "nu este corectă" in at.error[0].value
    at.text_input[0].input(TOKEN)
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Pentru echipa de suport"
    at.switch_page(EVAL_PAGE).run()   # now registered
    assert at.title[0].value == "Evaluare"


def test_without_a_configured_token_nobody_is_staff(env, monkeypatch):
    monkeypatch.setenv("PRIVACY_STAFF_TOKEN", "scurt")   # too short: refused
    at = start(**{STAFF: True})
    with pytest.raises(ValueError):
        at.switch_page(STAFF_PAGE)
    at.switch_page("webapp/login_page.py").run()
    assert "nu este configurat" in at.info[0].value
    assert not at.text_input


def test_follow_up_is_answered_in_the_context_of_the_previous_question(env):
    at = ask(ask(start(), "Cu ce firme partajați datele mele?"), "și pentru e-mail?")   # pair f004
    second = assistant_messages(at)[-1]
    assert any("în continuarea celei anterioare" in c.value for c in second.caption)
    assert second.expander[0].label == md_escape("Partajarea datelor › Cum partajăm informații?")
    # A question that names its own topic is answered alone.
    at = ask(at, "Cum îmi protejați informațiile?")
    third = assistant_messages(at)[-1]
    assert not any("în continuarea" in c.value for c in third.caption)
    assert third.expander[0].label == md_escape("Partajarea datelor › Cum protejăm informațiile?")


def test_feedback_stays_in_the_session_and_exports_as_a_question_set(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    at = ask(ask(start_staff(), "cui partajați datele mele?"), "Vindeți datele mele?")
    assert len(at.feedback) == 2   # 👍/👎 under each answer
    assert "(0)" in _export(at).proto.label and _export(at).proto.disabled
    at.feedback[0].set_value(0)    # 👎 on the first answer
    at.feedback[1].set_value(1).run()   # 👍 on the second
    export = _export(at)
    assert "(1)" in export.proto.label and not export.proto.disabled
    from webapp.chat import unhelpful_questions

    lines = [json.dumps(q, ensure_ascii=False) for q in unhelpful_questions(at.session_state["history"])]
    questions, errors = parse_questions(lines)   # the exported file opens in Evaluare as it is
    assert not errors and [q.question for q in questions] == ["cui partajați datele mele?"]
    assert questions[0].extra["kind"] == "feedback" and questions[0].extra["shown_citation"] == SHARING
    assert not list(tmp_path.iterdir())  # nothing was written to disk


def _export(at: AppTest):
    [button] = [b for b in at.get("download_button") if "nu a ajutat" in b.proto.label]
    return button


def test_markup_in_a_question_is_shown_as_text(env):
    at = ask(start(), HOSTILE)
    [user] = [m for m in at.chat_message if m.name == "user"]
    assert [t.value for t in user.text] == [HOSTILE]
    assert not user.markdown and not user.get("html")
    for element in [*at.markdown, *at.caption]:
        assert "<script" not in element.value
    for element in at.get("html"):
        if element.proto.unsafe_allow_javascript:
            # Only our own fixed scripts run (lang, live region, announcement): no typed text in them.
            assert element.value.startswith("<script") and "alert" not in element.value and "bold" not in element.value
        else:
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
    at = start_staff(EVAL_PAGE)
    assert not at.exception
    assert at.title[0].value == "Evaluare"
    # The GDPR map needs no question set: what the policy leaves out is there from the start.
    assert [h.value for h in at.header][:2] == ["Harta acoperirii GDPR", "Rulați un set de întrebări"]
    gdpr = at.dataframe[0].value
    assert set(gdpr[gdpr["Acoperită"] == "nu"]["Temă"]) >= {"Perioada de păstrare", "Plângere la autoritate"}
    assert "Securitatea datelor" in set(gdpr[gdpr["Acoperită"] == "da"]["Temă"])
    # ... and, for a covered topic, the details it leaves out (ONedu shares data, says nothing of a sale).
    sharing = gdpr[gdpr["Temă"] == "Destinatari și terți"]["Detalii pe care nu le spune"].iloc[0]
    assert "dacă organizația este vândută" in sharing
    run = next(b for b in at.button if b.label == "Rulează evaluarea")
    run.click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    shipped = sum(1 for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
                  if line.strip())
    assert metrics["Întrebări"] == str(shipped)
    assert metrics["Secțiunea corectă pe locul 1"].endswith("%")
    assert at.get("vega_lite_chart"), "coverage chart missing"
    assert any(s.value.startswith("Întrebări la care a greșit") for s in at.subheader)
    failures = at.dataframe[1].value
    assert list(failures.columns[:4]) == ["Întrebare", "Loc", "Găsit (în ordine)", "Abținere"]
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Descarcă raportul (HTML)" in labels
    # A failing question opens in the staff chat, asked again with its scores.
    chosen = at.selectbox(key="eval_open").value
    assert chosen in set(failures["Întrebare"])
    at.button(key="eval_open_button").click().run()
    assert not at.exception
    assert at.title[0].value == "Pentru echipa de suport"
    assert next(m for m in at.chat_message if m.name == "user").text[0].value == chosen


def test_evaluation_lists_malformed_lines_with_numbers(env):
    good = {"id": "x1", "question": "cui partajați datele mele?",
            "expected_sections": ["Cum partajăm informații?"], "answerable": True}
    lines = [json.dumps(good, ensure_ascii=False), "{nu e json", '{"id": "x2"}', "",
             json.dumps({**good, "id": "x3", "question": OFF_TOPIC, "expected_sections": [], "answerable": False},
                        ensure_ascii=False)]
    at = start_staff(EVAL_PAGE)
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


@pytest.mark.slow   # over a second: kept out of the quick tier (issue 9: <= 15 s)
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


@pytest.mark.slow   # over a second: kept out of the quick tier (issue 9: <= 15 s)
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


def test_an_open_session_answers_from_a_page_edited_mid_session(monkeypatch, index_copy, corpus_copy):
    """Issue 10, point 4: the session already open gets the edit on its next question, no new session."""
    monkeypatch.setenv("PRIVACY_INDEX_DIR", str(index_copy))
    monkeypatch.setenv("PRIVACY_CORPUS_DIR", str(corpus_copy))
    monkeypatch.setenv("PRIVACY_CHECK_EVERY_S", "0")
    question = "Cât timp păstrați datele mele?"
    at = ask(start(), question)
    new_section = md_escape("Partajarea datelor › Cât timp păstrăm datele?")
    assert new_section not in [e.label for e in assistant_messages(at)[0].expander]

    page = corpus_copy / "partajarea-datelor.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n# Cât timp păstrăm datele?\n"
                    "Păstrăm datele dvs. cel mult cinci ani de la ultima activitate în cont.\n", encoding="utf-8")
    at = ask(at, question)
    assert new_section in [e.label for e in assistant_messages(at)[1].expander]
    assert any("cinci ani" in html_of(block) for block in assistant_messages(at)[1:])


# ---------------------------------------------------------------- fast: reply text and configuration

def _quote(lines: str, score: float, gaps: list[int] | None = None, url: str = "") -> r.Quote:
    return r.Quote("Partajarea datelor", "Cum partajăm informații?", ["Cum partajăm informații?"], lines, score,
                   "partajarea-datelor.md", "cum-partajam-informatii", url, [], gaps or [])


def test_reply_keeps_gaps_citation_links_and_templates():
    first = _quote("Nu vindem nimănui nicio informație.\n- facilitarea plăților", 3.4, gaps=[0],
                   url="https://exemplu.ro/date#cum-partajam-informatii")
    second = _quote("Unde sunt partajate?", 2.2)
    answer = r.Answer("cui?", False, [first, second], contact="dpo@exemplu.ro")
    text = reply.compose(answer, [first], "Bună ziua,", "Scrieți-ne la {contact}.")
    assert text == ("Bună ziua,\n\n„Nu vindem nimănui nicio informație.\n[…]\n- facilitarea plăților”\n"
                    "(Partajarea datelor › Cum partajăm informații? – https://exemplu.ro/date#cum-partajam-informatii)"
                    "\n\nScrieți-ne la dpo@exemplu.ro.")
    assert "Unde sunt" not in text
    abstained = r.Answer("rețetă?", True, [first], message="Politica nu spune asta.")
    assert reply.compose(abstained, [first], "Bună ziua,", "La {contact}.") == (
        "Bună ziua,\n\nPolitica nu spune asta.\n\nLa adresa de contact de pe site-ul nostru.")


def test_best_quotes_are_preselected():
    quotes = [_quote("a", 3.73), _quote("b", 3.69), _quote("c", 2.23), _quote("d", 3.5)]
    assert reply.preselected(quotes) == [True, True, False, True]
    assert reply.preselected([]) == []


def test_staff_token_and_templates_are_read_from_the_environment(monkeypatch):
    monkeypatch.delenv("PRIVACY_STAFF_TOKEN", raising=False)
    assert staff_token() == ""
    monkeypatch.setenv("PRIVACY_STAFF_TOKEN", "prea-scurt")   # under 12 characters: locked
    assert staff_token() == ""
    monkeypatch.setenv("PRIVACY_STAFF_TOKEN", "  " + TOKEN + " ")
    assert staff_token() == TOKEN
    monkeypatch.delenv("PRIVACY_REPLY_GREETING", raising=False)
    monkeypatch.setenv("PRIVACY_REPLY_CLOSING", "Cu drag,\\nEchipa")
    assert reply_templates() == (DEFAULT_GREETING, "Cu drag,\nEchipa")
