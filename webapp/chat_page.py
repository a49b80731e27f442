"""Chat page: ask about the policy, get the passage that answers first, verbatim and cited.

History lives in `st.session_state` only (this browser tab, this session).
Support staff ("Mod asistență" in the sidebar) also see section scores, why the
engine answered or abstained, can filter by page and copy a ready-made reply.
"""
from __future__ import annotations

import time
from dataclasses import replace

import streamlit as st

import retrieval as r
from retrieval.engine import MAX_QUESTION_CHARS
from webapp.engine import Loaded, load_engine
from webapp.render import (
    QuestionWords,
    citation_html,
    details_html,
    md_escape,
    quote_html,
    quote_indents,
    reason_text,
    scroll_to_last_question_js,
    section_html,
)

USER_K = 3          # quotes shown to a user: the one that answers, then two others
MAX_MESSAGES = 100  # a session keeps at most this many messages (user + assistant)
WHOLE_SECTION = "Toată secțiunea"

TOPIC_BY = {"cue": "după cuvinte-cheie", "examples": "după întrebările-exemplu", "none": "nesigură"}

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
    answer = answers[k]
    if not answer.contact and loaded.contact:   # the policy names no contact: the app's setting does
        answer = replace(answer, contact=loaded.contact)
    return answer


def _retrieval_for(message: dict):
    """Section scores, computed once per message and shared by every k and the staff view."""
    if message.get("retrieval") is None:
        message["retrieval"] = engine.retrieve(message["question"])
    return message["retrieval"]


def _in_pages(quote: r.Quote) -> bool:
    return not staff_pages or quote.page in staff_pages


def _section_of(quote: r.Quote) -> r.Section | None:
    """The quote's section, unless the page changed since the answer (no context rather than a wrong one)."""
    section = loaded.section(quote.source, quote.anchor)
    lines = quote.quote.splitlines()
    if section is None or len(lines) != len(quote.spans) or any(
            section.text[a:b] != line for (a, b), line in zip(quote.spans, lines, strict=True)):
        return None
    return section


def _quote_block(quote: r.Quote, section: r.Section | None, words: QuestionWords) -> str:
    indents = quote_indents(section.text, quote.spans) if section is not None else None
    return quote_html(quote.quote, quote.gaps, indents, words)


def _show_lead(quote: r.Quote, words: QuestionWords) -> None:
    """The passage that answers: prominent, cited; the citation opens the whole section in place."""
    section = _section_of(quote)
    with st.container(gap=None):  # the quote and its citation read as one block
        st.html(f'<div class="pp-lead">{_quote_block(quote, section, words)}</div>')
        if quote.url:
            st.html(citation_html(quote.citation, quote.url))
        if section is None:
            if not quote.url:
                st.html(citation_html(quote.citation))
            return
        label = WHOLE_SECTION if quote.url else md_escape(quote.citation)
        with st.expander(label, icon=":material/menu_book:"):
            st.html(section_html(section.text, quote.spans))
            st.caption(f"Sursa: {md_escape(quote.source)}#{md_escape(quote.anchor)}")


def _show_other(quote: r.Quote, words: QuestionWords, context: bool = True) -> None:
    """A secondary passage; its section folds open in place (HTML <details>: expanders cannot nest)."""
    section = _section_of(quote) if context else None
    parts = [_quote_block(quote, section, words)]
    if quote.url:
        parts.append(citation_html(quote.citation, quote.url))
    if section is not None:
        parts.append(details_html(WHOLE_SECTION if quote.url else quote.citation,
                                  section_html(section.text, quote.spans)))
    elif not quote.url:
        parts.append(citation_html(quote.citation))
    st.html("".join(parts))


def _examples(key: str) -> None:
    for n, question in enumerate(loaded.examples):
        st.button(question, key=f"{key}-{n}", on_click=_ask_later, args=(question,),
                  icon=":material/help:", width="stretch")


def _decision(evidence: dict) -> list[str]:
    """The engine's decision in words: why it answered or abstained, and how sure it was of the topic."""
    topic_id = evidence.get("topic")
    topic = engine.taxonomy.get(topic_id) if topic_id else None
    topic_name = topic.name if topic is not None else (
        "în afara subiectului" if topic_id == "offtopic" else "nedeterminată")
    decision = reason_text(str(evidence.get("reason", "")), topic_name)
    by = TOPIC_BY.get(evidence.get("topic_by", ""), str(evidence.get("topic_by", "")))
    covered = "" if not topic_id or evidence.get("topic_covered", True) else " · politica nu o acoperă"
    return [f"Decizie: {decision}",
            f"Tema: {topic_id or '—'} ({topic_name}) · {by} · similaritate "
            f"{evidence.get('topic_similarity', 0.0):.3f}, marjă {evidence.get('topic_margin', 0.0):.3f}{covered}",
            f"Acoperire lexicală: {evidence.get('coverage', 0.0) * 100:.0f} % din cuvintele întrebării · "
            f"cosinusul propoziției citate {evidence.get('unit_cosine', 0.0):.3f}"]


def _staff_panel(message: dict, answer: r.Answer) -> None:
    import pandas as pd  # staff only: keeps pandas off a user's first, cold page load

    retrieval = _retrieval_for(message)
    rows = []
    for rank, hit in enumerate(retrieval.hits, start=1):
        section = engine.index.sections[hit.section]
        if staff_pages and section.page_title not in staff_pages:
            continue
        rows.append({"Loc": rank, "Scor": round(hit.score, 3), "Scor secțiune": round(hit.fused, 3),
                     "Propoziție (cosinus)": round(hit.unit_cosine, 3), "Lexical": round(hit.lexical, 2),
                     "Pagina": section.page_title, "Secțiune": section.title})
        if len(rows) == staff_k:
            break
    with st.container(border=True):
        st.markdown("**:material/support_agent: Detalii pentru asistență**")
        lines = [*_decision(answer.evidence), f"timp server {message['ms']:.0f} ms"]
        st.caption("  \n".join(md_escape(line) for line in lines))  # topic names are data: escaped
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        quotes = [q for q in answer.quotes if _in_pages(q)]
        st.caption("Text de răspuns, gata de copiat (butonul din colțul casetei):")
        st.code(answer.reply_text(quotes) or "—", language=None, wrap_lines=True)


def _show_answer(message: dict, index: int) -> None:
    if message.get("error"):
        st.warning(message["error"], icon=":material/edit_note:")
        return
    answer = _answer_for(message, staff_k)
    quotes = [q for q in answer.quotes if _in_pages(q)]
    words = QuestionWords.of(answer.question)
    if answer.notice:   # a long question: only its beginning was searched
        st.caption(md_escape(answer.notice))
    if not answer.abstained:
        if quotes:
            st.markdown("Iată ce spune politica de confidențialitate:")
            _show_lead(quotes[0], words)
            if quotes[1:]:
                with st.expander("Alte pasaje relevante", icon=":material/format_quote:"):
                    for quote in quotes[1:]:
                        _show_other(quote, words)
        else:
            st.info("Niciun citat din paginile selectate.")
        st.caption(md_escape(answer.contact_line))
    else:
        st.markdown(f"**{md_escape(answer.message)}**")
        st.markdown(md_escape(answer.contact_line))
        st.markdown("Puteți reformula întrebarea, cu alte cuvinte, sau alege una dintre întrebările "
                    "la care politica răspunde:")
        _examples(f"example-{index}")
        if quotes:
            with st.expander("Cele mai apropiate secțiuni (doar ca referință)", icon=":material/info:"):
                for quote in quotes:
                    _show_other(quote, words, context=False)
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
    st.session_state["asked"] = st.session_state.get("asked", 0) + 1


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
elif question:
    # Only in the run that asked: bring the question and the start of its answer into view.
    # height=1: 0 is refused
    st.iframe(scroll_to_last_question_js(st.session_state["asked"]), height=1, alt="Derulare la răspuns")
