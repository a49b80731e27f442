"""Chat page: ask about the policy, get verbatim quotes with citations.

History lives in `st.session_state` only (this browser tab, this session).
Support staff ("Mod asistență" in the sidebar) also see section scores, can
filter by page and copy a ready-made reply.
"""
from __future__ import annotations

import time
from dataclasses import asdict

import streamlit as st

import retrieval as r
from retrieval.engine import MAX_QUESTION_CHARS
from webapp.engine import Loaded, load_engine
from webapp.render import citation_html, gaps_between, md_escape, quote_html, section_html

USER_K = 3          # quotes shown to a user
MAX_MESSAGES = 100  # a session keeps at most this many messages (user + assistant)

loaded: Loaded = load_engine()
engine = loaded.engine
staff = bool(st.session_state.get("staff_mode"))
staff_k = int(st.session_state.get("staff_k", 5)) if staff else USER_K
staff_pages = set(st.session_state.get("staff_pages") or []) if staff else set()
history: list[dict] = st.session_state.setdefault("history", [])


def _ask_later(question: str) -> None:
    """Button callback: the question is asked in the run the click triggers."""
    st.session_state["pending_question"] = question


def _clear() -> None:
    st.session_state["history"] = []


def _answer_for(message: dict, k: int) -> r.Answer:
    """The answer with k quotes, computed once per k (staff may change k later)."""
    answers = message["answers"]
    if k not in answers:
        answers[k] = r.ask(engine, message["question"], k=k, retrieval=_retrieval_for(message))
    return answers[k]


def _retrieval_for(message: dict):
    """Section scores, computed once per message and shared by every k and the staff view."""
    if message.get("retrieval") is None:
        message["retrieval"] = engine.retrieve(message["question"])
    return message["retrieval"]


def _in_pages(quote: r.Quote) -> bool:
    return not staff_pages or quote.document in staff_pages


def _show_quote(quote: r.Quote, context: bool) -> None:
    """The quote as a blockquote; its citation opens the whole section, quoted lines highlighted."""
    section = loaded.section(quote.source, quote.anchor)
    lines = quote.quote.splitlines()
    if section is not None and (len(lines) != len(quote.spans) or any(
            section.text[a:b] != line for (a, b), line in zip(quote.spans, lines))):
        section = None  # the page changed since this answer: no context rather than a wrong one
    gaps = gaps_between(section.text, quote.spans) if section is not None else set()
    with st.container(gap=None):  # the quote and its citation read as one block
        st.html(quote_html(quote.quote, gaps))
        if not context or section is None:
            st.html(citation_html(quote.citation))
            return
        with st.expander(md_escape(quote.citation), icon=":material/menu_book:"):
            st.html(section_html(section.text, quote.spans))
            st.caption(f"Sursa: {md_escape(quote.source)}#{md_escape(quote.anchor)}")


def _examples(key: str) -> None:
    for n, question in enumerate(loaded.examples):
        st.button(question, key=f"{key}-{n}", on_click=_ask_later, args=(question,),
                  icon=":material/help:", width="stretch")


def _staff_panel(message: dict, answer: r.Answer) -> None:
    import pandas as pd  # staff only: keeps pandas off a user's first, cold page load

    retrieval = _retrieval_for(message)
    rows = []
    for rank, hit in enumerate(retrieval.hits, start=1):
        record = engine.index.sections[hit.section]
        if staff_pages and record.page_title not in staff_pages:
            continue
        rows.append({"Loc": rank, "Scor": round(hit.score, 3), "Dens": round(hit.dense, 3),
                     "Lexical": round(hit.lexical, 2), "Pagina": record.page_title, "Secțiune": record.title})
        if len(rows) == staff_k:
            break
    evidence = ", ".join(f"{name} {value:.3f}" for name, value in asdict(retrieval.evidence).items())
    with st.container(border=True):
        st.markdown("**:material/support_agent: Detalii pentru asistență**")
        st.caption(f"Decizie: {'abținere' if retrieval.abstained else 'răspuns'} · {evidence} · "
                   f"timp server {message['ms']:.0f} ms")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        if answer.abstained:
            st.caption("Politica nu acoperă întrebarea: nu există text de răspuns de copiat.")
        else:
            quotes = [q for q in answer.answers if _in_pages(q)]
            st.caption("Text de răspuns, gata de copiat (butonul din colțul casetei):")
            st.code(r.Answer(answer.question, answer.abstained, quotes).reply_text() or "—", language=None,
                    wrap_lines=True)


def _show_answer(message: dict, index: int) -> None:
    if message.get("error"):
        st.warning(message["error"], icon=":material/edit_note:")
        return
    answer = _answer_for(message, staff_k)
    quotes = [q for q in answer.answers if _in_pages(q)]
    if not answer.abstained:
        st.markdown("Iată ce spune politica de confidențialitate:")
        for quote in quotes:
            _show_quote(quote, context=True)
        if not quotes:
            st.info("Niciun citat din paginile selectate.")
    else:
        st.markdown("**Politica de confidențialitate nu acoperă această întrebare.** "
                    "Încercați să o reformulați, cu alte cuvinte, sau alegeți una dintre întrebările "
                    "la care politica răspunde:")
        _examples(f"example-{index}")
        if quotes:
            with st.expander("Cele mai apropiate secțiuni (doar ca referință)", icon=":material/info:"):
                for quote in quotes:
                    _show_quote(quote, context=False)
    if staff:
        _staff_panel(message, answer)


def _ask(question: str) -> None:
    """Answer now and keep both sides in the history; only the session holds them."""
    message = {"role": "assistant", "question": question, "answers": {}, "retrieval": None, "ms": 0.0}
    started = time.perf_counter()
    try:
        message["answers"][staff_k] = r.ask(engine, question, k=staff_k)
    except r.QuestionError as exc:
        message["error"] = str(exc)
    except r.RetrievalError as exc:
        st.error(str(exc))
        st.stop()
    message["ms"] = (time.perf_counter() - started) * 1000
    history.extend([{"role": "user", "text": question}, message])
    del history[:-MAX_MESSAGES]


typed = st.chat_input("Scrieți întrebarea dvs. despre datele personale…", max_chars=MAX_QUESTION_CHARS)
question = typed or st.session_state.pop("pending_question", None)
if question:
    _ask(question)

with st.sidebar:
    if history:
        st.button("Conversație nouă", icon=":material/restart_alt:", on_click=_clear)

st.title("Întrebări despre datele dvs.")
st.markdown("Întrebați orice despre felul în care sunt folosite, partajate și protejate datele dvs. personale. "
            "Răspunsurile sunt **citate cuvânt cu cuvânt** din politica de confidențialitate, cu trimitere la "
            "secțiunea din care provin; apăsați pe o trimitere ca să vedeți întreaga secțiune.")
if loaded.rebuilt and not st.session_state.get("rebuild_noted"):
    st.session_state["rebuild_noted"] = True
    st.toast("Indexul a fost reconstruit: " + loaded.rebuilt, icon=":material/build:")

for n, message in enumerate(history):
    if message["role"] == "user":
        with st.chat_message("user"):
            st.text(message["text"])  # plain text: typed Markdown/HTML is never rendered
    else:
        with st.chat_message("assistant"):
            _show_answer(message, n)

if not history:
    st.markdown("**Puteți începe cu una dintre aceste întrebări:**")
    _examples("start")
