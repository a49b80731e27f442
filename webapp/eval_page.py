"""Evaluation page: run a question set through the engine and see where it fails.

Staff upload a JSONL set or use the shipped one. The upload stays in memory
(Streamlit keeps uploads in RAM) and the results only in this session. Wide
layout (set in app.py for this page): the failures table has eleven columns; the ones that say what went wrong
(question, rank, what was found, abstained) come first so a phone shows them.
A failing question opens in the staff chat with one click.
"""
from __future__ import annotations

import io
import json

import altair as alt
import pandas as pd
import streamlit as st

import retrieval as r
from retrieval.coverage import coverage_html, coverage_map
from retrieval.evaluation import MAX_QUESTIONS, Evaluation, Result, evaluate, load_questions, read_questions
from retrieval.report import render_report
from webapp.chat import ask_on_its_own
from webapp.engine import Loaded, load_engine
from webapp.render import md_escape, reason_text

SHIPPED = "Setul de întrebări al aplicației"
UPLOADED = "Un fișier încărcat"

loaded: Loaded = load_engine()
STAFF_PAGE = "webapp/staff_page.py"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _chars(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _questions():
    """(name, questions, line errors) of the chosen set, or None with a message shown."""
    source = st.radio("Setul de întrebări", [SHIPPED, UPLOADED], horizontal=True, key="eval_source",
                      captions=[md_escape(loaded.paths.questions.name), "JSONL, un obiect pe linie"])
    if source == SHIPPED:
        try:
            questions, errors = load_questions(loaded.paths.questions)
        except r.RetrievalError as exc:
            st.error(str(exc))
            return None
        return loaded.paths.questions.name, questions, errors
    upload = st.file_uploader("Fișier JSONL cu întrebări", type=["jsonl", "json", "txt"], key="eval_upload",
                              help='Fiecare linie: {"id": "...", "question": "...", '
                                   '"expected_sections": ["..."], "answerable": true}')
    if upload is None:
        st.info("Încărcați un fișier ca să rulați evaluarea.", icon=":material/upload_file:")
        return None
    # Read as a stream, like `eval`: lines split on "\n" only, BOM ignored, at most MAX_QUESTIONS questions.
    try:
        questions, errors = read_questions(io.TextIOWrapper(io.BytesIO(upload.getvalue()), encoding="utf-8-sig",
                                                            newline="\n"), upload.name)
    except r.RetrievalError as exc:
        st.error(md_escape(str(exc)))
        return None
    return upload.name, questions, errors


def _summary(evaluation: Evaluation) -> None:
    s = evaluation.summary
    st.subheader("Rezumat")
    mrr = "—" if s["mrr"] is None else f"{s['mrr']:.3f}"
    # (label, value, help), four to a row: the figures as data, one loop to show them.
    metrics: list[tuple[str, object, str | None]] = [
        ("Întrebări", s["questions"], f"{s['answerable']} cu răspuns, {s['unanswerable']} fără"),
        ("Secțiunea corectă pe locul 1", _percent(s["hit@1"]), None),
        ("Printre primele 3", _percent(s["hit@3"]), None),
        ("Printre primele 5", _percent(s["hit@5"]), None),
        ("Rangul reciproc mediu", mrr, "Media lui 1/locul secțiunii corecte (1 = mereu pe primul loc)."),
        ("Abțineri justificate", _percent(s["abstention_precision"]),
         "Din întrebările la care s-a abținut, câte chiar nu aveau răspuns în politică."),
        ("Întrebări fără răspuns recunoscute", _percent(s["abstention_recall"]),
         "Din întrebările fără răspuns în politică, la câte s-a abținut."),
        ("Abțineri greșite", _percent(s["answerable_abstained"]), "Întrebări cu răspuns la care s-a abținut totuși."),
        ("Răspunsul în primul citat", _percent(s.get("answer_in_first_quote")),
         "Din întrebările cu fraze-răspuns, la câte primul citat arătat conține una dintre ele."),
        ("Răspunsul în vreun citat", _percent(s.get("answer_in_any_quote")),
         "La fel, în oricare dintre citatele arătate unui vizitator."),
        ("Lungimea primului citat (caractere)", _chars(s.get("first_quote_chars")),
         "Media, pe întrebările la care a răspuns."),
        ("Lungimea răspunsului (caractere)", _chars(s.get("answer_chars")),
         "Media lungimii tuturor citatelor arătate, pe întrebările la care a răspuns."),
        ("Întrebări neacoperite recunoscute", _percent(s.get("uncovered_abstained")),
         "Întrebări despre teme pe care politica nu le tratează, la care s-a abținut."),
        ("Întrebări în afara subiectului recunoscute", _percent(s.get("offtopic_abstained")),
         "Întrebări fără legătură cu datele personale, la care s-a abținut."),
    ]
    for start in range(0, len(metrics), 4):
        for col, (label, value, hint) in zip(st.columns(4), metrics[start:start + 4], strict=False):
            col.metric(label, value, help=hint)
    p50, p95 = s.get("latency_ms_p50"), s.get("latency_ms_p95")
    if p50 is not None:
        st.caption(f"Timp de căutare pe întrebare: median {p50:.0f} ms, p95 {p95:.0f} ms.")


def _coverage(evaluation: Evaluation) -> None:
    st.subheader("Acoperirea secțiunilor")
    coverage = evaluation.summary["coverage"]
    if not coverage:
        return
    frame = pd.DataFrame(coverage).rename(columns={
        "section": "Secțiune", "questions_reaching": "Atinsă (loc 1)", "questions_expecting": "Așteptată"})
    data = frame.melt(id_vars="Secțiune", var_name="Număr de întrebări", value_name="Întrebări")
    chart = alt.Chart(data).mark_bar().encode(
        # Labels longer than 150 px are cut (full name in the tooltip): on a 390 px phone wider
        # labels left the bars no room at all.
        y=alt.Y("Secțiune:N", sort=None, title=None, axis=alt.Axis(labelLimit=150, labelFontSize=11)),
        yOffset=alt.YOffset("Număr de întrebări:N"),
        x=alt.X("Întrebări:Q", title="Întrebări"),
        color=alt.Color("Număr de întrebări:N", legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["Secțiune", "Număr de întrebări", "Întrebări"],
    ).properties(height=alt.Step(14))
    st.altair_chart(chart, width="stretch")
    unreached = evaluation.summary.get("unreached_sections") or []
    if unreached:
        # Titles are page text, as untrusted as a question: escaped, never rendered as Markdown (no images fetched).
        st.warning("Secțiuni pe care nicio întrebare nu le găsește pe locul 1: "
                   + "; ".join(md_escape(t) for t in unreached), icon=":material/visibility_off:")
    unknown = evaluation.summary.get("unknown_expected_sections") or []
    if unknown:
        st.warning("Secțiuni așteptate care nu există în pagini (numărate ca ratări): "
                   + "; ".join(md_escape(t) for t in unknown), icon=":material/help:")


def _seen(result: Result) -> str:
    """What the visitor was shown: our message when abstaining, else the first quote and its citation."""
    if result.error:
        return result.error
    if result.abstained:
        return result.message
    if not result.quotes:
        return ""
    first = result.quotes[0]
    return f"{first['citation']}: „{' / '.join(first['quote'].splitlines())}”"


def _reason(result: Result) -> str:
    topic = loaded.engine.taxonomy.get(result.topic) if result.topic else None
    return reason_text(result.reason, topic.name if topic is not None else result.topic or "") if result.reason else ""


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("da" if value else "nu")


def _failures(evaluation: Evaluation) -> None:
    failures = evaluation.failures
    st.subheader(f"Întrebări la care a greșit ({len(failures)})")
    if not failures:
        st.success("Toate întrebările au primit secțiunea așteptată pe locul 1 sau abținerea corectă.")
        return
    rows = [{
        "Întrebare": f.question,
        "Loc": "—" if f.rank is None else str(f.rank),
        "Găsit (în ordine)": " | ".join(f.retrieved_sections),
        "Abținere": "da" if f.abstained else "nu",
        "Așteptat": " | ".join(f.expected_sections),
        "Are răspuns": "da" if f.answerable else "nu",
        "Motiv": _reason(f),
        "Ce a văzut utilizatorul": _seen(f),
        "Răspunsul în primul citat": _yes_no(f.answer_in_first),
        "Eroare": f.error or "",
        "id": f.id,
    } for f in failures]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        "Întrebare": st.column_config.TextColumn(width="medium", pinned=True),
        "Loc": st.column_config.TextColumn(width="small"),
        "Abținere": st.column_config.TextColumn(width="small"),
    })
    _open_in_chat([f.question for f in failures if not f.error])


def _open_in_chat(questions: list[str]) -> None:
    """A failing question asked again in the staff chat, with its scores and decision."""
    if not questions:
        return
    cols = st.columns([3, 1], vertical_alignment="bottom")
    chosen = cols[0].selectbox("Deschideți o întrebare greșită în chat", questions, key="eval_open")
    if cols[1].button("Deschide în chat", icon=":material/forum:", key="eval_open_button"):
        ask_on_its_own(chosen)
        st.switch_page(STAFF_PAGE)


def _line_errors(evaluation: Evaluation) -> None:
    if not evaluation.errors:
        return
    st.subheader(f"Linii ignorate ({len(evaluation.errors)})")
    st.warning("Aceste linii nu au putut fi citite; celelalte întrebări au fost evaluate.",
               icon=":material/warning:")
    st.dataframe(pd.DataFrame([{"Linia": e.line, "Problema": e.message} for e in evaluation.errors]),
                 hide_index=True, width="stretch")


def _gdpr_map() -> None:
    """What the policy says and leaves out, topic by topic: needs no question set."""
    entries = coverage_map(loaded.engine)
    missing = [e for e in entries if not e.covered]
    st.header("Harta acoperirii GDPR")
    st.caption(f"Politica tratează {len(entries) - len(missing)} din {len(entries)} teme. "
               "Temele lipsă sunt cele la care asistentul răspunde „Politica nu spune …”.")
    rows = [{"Temă": e.name, "Acoperită": "da" if e.covered else "nu",
             "Secțiuni": " | ".join(e.sections) if e.covered else f"Politica nu spune {e.missing}.",
             "Cea mai apropiată propoziție": e.best_sentence,
             "Detalii pe care nu le spune": "; ".join(d.missing for d in e.missing_details)} for e in entries]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


st.title("Evaluare")
st.markdown("Rulați un set de întrebări de test și vedeți cât de des găsește asistentul secțiunea corectă, "
            "când se abține și ce secțiuni nu sunt găsite niciodată.")

_gdpr_map()
st.divider()
st.header("Rulați un set de întrebări")
chosen = _questions()
k = st.slider("Secțiuni păstrate pe întrebare (k)", 1, max(5, len(loaded.sections)), 5, key="eval_k")
if chosen is not None:
    name, questions, errors = chosen
    st.caption(f"{md_escape(name)}: {len(questions)} întrebări valide, {len(errors)} linii cu probleme "
               f"(cel mult {MAX_QUESTIONS} de întrebări pe set).")
    if st.session_state.get("eval_stop"):
        st.info("Evaluarea a fost oprită.", icon=":material/stop_circle:")
    if st.button("Rulează evaluarea", type="primary", icon=":material/play_arrow:", disabled=not questions):
        bar = st.progress(0.0, text="Se evaluează…")
        # Any click reruns the page, which stops the evaluation running in this session.
        st.button("Oprește evaluarea", icon=":material/stop:", key="eval_stop")
        step = max(1, len(questions) // 20)  # few redraws: the browser shares the CPU with the timing

        def advance(done: int, total: int) -> None:
            if done % step == 0 or done == total:
                bar.progress(done / total, text=f"{done} din {total}")

        result = evaluate(loaded.engine, questions, k=k, errors=errors, progress=advance)
        bar.empty()
        st.session_state["evaluation"] = (name, result)
    if not questions:
        st.warning("Setul nu conține nicio întrebare validă.")
        if errors:
            _line_errors(Evaluation({}, [], errors))

if "evaluation" in st.session_state:
    name, result = st.session_state["evaluation"]
    st.divider()
    st.header(f"Rezultatele pentru {md_escape(name)}")
    _summary(result)
    _coverage(result)
    _failures(result)
    _line_errors(result)
    cols = st.columns(2)
    cols[0].download_button("Descarcă raportul (HTML)", render_report(result, f"Evaluare: {name}",
                                                                         coverage_html(coverage_map(loaded.engine))),
                            file_name="evaluare.html", mime="text/html", icon=":material/description:",
                            type="primary", on_click="ignore",
                            help="Un singur fișier, se deschide în browser și fără internet.")
    cols[1].download_button("Descarcă rezultatele (JSON)",
                            json.dumps(result.to_json(), ensure_ascii=False, indent=1),
                            file_name="evaluare.json", mime="application/json", icon=":material/download:",
                            on_click="ignore")
