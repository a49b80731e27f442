"""The chat, for visitors and (with scores, decision and a ready reply) for support staff.

History lives in `st.session_state` only (this browser tab, this session), and
so does the 👍/👎 feedback on each answer: nothing is written anywhere unless
staff export it. The two pages (`chat_page.py`, `staff_page.py`) call `main`;
everything a run needs travels in a `View`, never in module globals, because
Streamlit runs sessions in parallel threads over one imported module.
"""
from __future__ import annotations

import html
import time
from dataclasses import dataclass, field, replace
from typing import Any

import streamlit as st

import retrieval as r
from retrieval.engine import MAX_QUESTION_CHARS
from retrieval.pages import cite
from webapp import a11y, reply
from webapp.config import reply_templates
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
STAFF_K = 5         # sections the staff view shows by default
MAX_MESSAGES = 100  # a session keeps at most this many messages (user + assistant)
WHOLE_SECTION = "Toată secțiunea"
PLACEHOLDER = "Scrieți întrebarea…"   # short: a phone shows it whole (390 px)

TOPIC_BY = {"cue": "după cuvinte-cheie", "examples": "după întrebările-exemplu", "none": "nesigură",
            "detail": "un detaliu al temei, după cuvinte-cheie", "nearest": "cea mai apropiată (fără date personale)",
            "offtopic_cue": "cerere sau preț, fără date personale"}


@dataclass
class View:
    loaded: Loaded
    staff: bool
    k: int
    pages: set[str] = field(default_factory=set)

    @property
    def engine(self) -> r.Engine:
        return self.loaded.engine


def history() -> list[dict[str, Any]]:
    return st.session_state.setdefault("history", [])


def _ask_later(question: str) -> None:
    """Button callback: the question is asked in the run the click triggers, on its own (never as a follow-up)."""
    ask_on_its_own(question)
    st.session_state["pending_from_example"] = True


def ask_on_its_own(question: str) -> None:
    """Ask `question` in the next run of a chat page, as a new topic (examples, Evaluare's failing questions)."""
    st.session_state["pending_question"] = question
    st.session_state["pending_standalone"] = True


def _clear() -> None:
    st.session_state["history"] = []


def _record_feedback(message_id: int) -> None:
    """Feedback callback: the choice is kept on the message itself (session memory only)."""
    value = st.session_state.get(f"feedback-{message_id}")
    for message in history():
        if message.get("id") == message_id:
            message["feedback"] = value


def unhelpful_questions(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This session's questions marked 👎, as an Evaluare question set.

    The right section is not known (that is what staff will decide), so each is
    `answerable: false` with no expected section: in Evaluare every one the
    engine still answers shows up among the failing questions, with what the
    visitor saw, ready to be given its expected section.
    """
    out = []
    for message in messages:
        if message.get("role") == "assistant" and message.get("feedback") == 0:
            shown = message.get("shown", "")
            out.append({"id": f"feedback-{len(out) + 1}", "question": message["question"],
                        "expected_sections": [], "answerable": False, "kind": "feedback",
                        "shown_citation": shown})
    return out


def _answer_for(view: View, message: dict[str, Any], k: int) -> r.Answer:
    """The answer with k quotes, computed once per k (staff may change k later)."""
    answers = message["answers"]
    if k not in answers:
        answers[k] = r.ask(view.engine, message["query"], k=k, retrieval=_retrieval_for(view, message))
    answer = answers[k]
    if not answer.contact and view.loaded.contact:   # the policy names no contact: the app's setting does
        answer = replace(answer, contact=view.loaded.contact)
    return answer


def _retrieval_for(view: View, message: dict[str, Any]) -> r.Retrieval:
    """Section scores, computed once per message and shared by every k and the staff view."""
    if message.get("retrieval") is None:
        message["retrieval"] = view.engine.retrieve(message["query"])
    return message["retrieval"]


def _section_of(view: View, quote: r.Quote) -> r.Section | None:
    """The quote's section, unless the page changed since the answer (no context rather than a wrong one)."""
    section = view.loaded.section(quote.source, quote.anchor)
    lines = quote.quote.splitlines()
    if section is None or len(lines) != len(quote.spans) or any(
            section.text[a:b] != line for (a, b), line in zip(quote.spans, lines, strict=True)):
        return None
    return section


def _quote_block(quote: r.Quote, section: r.Section | None, words: QuestionWords) -> str:
    indents = quote_indents(section.text, quote.spans) if section is not None else None
    return quote_html(quote.quote, quote.gaps, indents, words)


def _show_lead(view: View, quote: r.Quote, words: QuestionWords) -> None:
    """The passage that answers: prominent, cited; the citation opens the whole section in place."""
    section = _section_of(view, quote)
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


def _show_other(view: View, quote: r.Quote, words: QuestionWords, context: bool = True) -> None:
    """A secondary passage; its section folds open in place (HTML <details>: expanders cannot nest)."""
    section = _section_of(view, quote) if context else None
    parts = [_quote_block(quote, section, words)]
    if quote.url:
        parts.append(citation_html(quote.citation, quote.url))
    if section is not None:
        parts.append(details_html(WHOLE_SECTION if quote.url else quote.citation,
                                  section_html(section.text, quote.spans)))
    elif not quote.url:
        parts.append(citation_html(quote.citation))
    st.html("".join(parts))


def _examples(view: View, key: str) -> None:
    for n, question in enumerate(view.loaded.examples):
        st.button(question, key=f"{key}-{n}", on_click=_ask_later, args=(question,),
                  icon=":material/help:", width="stretch")


def _decision(view: View, evidence: dict[str, Any]) -> list[str]:
    """The engine's decision in words: why it answered or abstained, and how sure it was of the topic."""
    topic_id = evidence.get("topic")
    topic = view.engine.taxonomy.get(topic_id) if topic_id else None
    topic_name = topic.name if topic is not None else (
        "în afara subiectului" if topic_id == "offtopic" else "nedeterminată")
    decision = reason_text(str(evidence.get("reason", "")), topic_name)
    by = TOPIC_BY.get(evidence.get("topic_by", ""), str(evidence.get("topic_by", "")))
    covered = "" if not topic_id or evidence.get("topic_covered", True) else " · politica nu o acoperă"
    return [f"Decizie: {decision}",
            f"Tema: {topic_name} · {by} · asemănare {evidence.get('topic_similarity', 0.0):.3f}, "
            f"diferență față de a doua temă {evidence.get('topic_margin', 0.0):.3f}{covered}",
            f"Cuvinte ale întrebării găsite în politică: {evidence.get('coverage', 0.0) * 100:.0f} % · "
            f"asemănarea propoziției citate {evidence.get('unit_cosine', 0.0):.3f}"
            + "".join(f" · răspunsul așteptat: {t}" for t in evidence.get("answer_types") or ())]


def scores_html(view: View, retrieval: r.Retrieval) -> str:
    """The top sections and their scores as a plain HTML table: it wraps to any width, phone included."""
    rows = []
    for rank, hit in enumerate(retrieval.hits, start=1):
        section = view.engine.sections[hit.section]
        if view.pages and section.page_title not in view.pages:
            continue
        rows.append(f"<tr><td class='pp-num'>{rank}</td><td>{html.escape(cite(section.page_title, section.path))}</td>"
                    f"<td class='pp-num'>{hit.score:.2f}</td><td class='pp-num pp-detail'>{hit.unit_cosine:.3f}</td>"
                    f"<td class='pp-num pp-detail'>{hit.lexical:.1f}</td></tr>")
        if len(rows) == view.k:
            break
    head = ("<tr><th scope='col'>Loc</th><th scope='col'>Secțiune</th><th scope='col'>Scor</th>"
            "<th scope='col' class='pp-detail'>Asemănare propoziție</th>"
            "<th scope='col' class='pp-detail'>Potrivire cuvinte</th></tr>")
    return (f"<table class='pp-scores'><caption>Secțiunile cele mai apropiate, în ordinea scorului</caption>"
            f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>")


def _staff_panel(view: View, message: dict[str, Any], answer: r.Answer, quotes: list[r.Quote]) -> None:
    with st.container(border=True):
        st.markdown("**:material/support_agent: Pentru echipa de suport**")
        lines = [*_decision(view, answer.evidence), f"Timp de răspuns pe server: {message['ms']:.0f} ms"]
        st.caption("  \n".join(md_escape(line) for line in lines))  # topic names are data: escaped
        st.html(scores_html(view, _retrieval_for(view, message)))
        st.markdown("**Răspuns pentru e-mail**")
        chosen = quotes
        if not answer.abstained and quotes:
            st.caption("Alegeți citatele care intră în răspuns (cele mai potrivite sunt deja bifate):")
            ticks = reply.preselected(quotes)
            chosen = [q for n, (q, tick) in enumerate(zip(quotes, ticks, strict=True))
                      if st.checkbox(md_escape(q.citation), value=tick, key=f"pick-{message['id']}-{view.k}-{n}")]
        greeting, closing = reply_templates()
        st.caption("Copiați răspunsul cu butonul din colțul casetei:")
        st.code(reply.compose(answer, chosen, greeting, closing), language=None, wrap_lines=True)


def _show_answer(view: View, message: dict[str, Any], index: int) -> None:
    if message.get("error"):
        st.warning(message["error"], icon=":material/edit_note:")
        return
    answer = _answer_for(view, message, view.k)
    quotes = [q for q in answer.quotes if not view.pages or q.page in view.pages]
    words = QuestionWords.of(answer.question)
    if answer.notice:   # a long question: only its beginning was searched
        st.caption(md_escape(answer.notice))
    if message.get("previous"):
        st.caption(f"Am citit întrebarea în continuarea celei anterioare: „{md_escape(message['previous'])}”.")
    if not answer.abstained:
        if quotes:
            st.markdown("Iată ce spune politica de confidențialitate:")
            _show_lead(view, quotes[0], words)
            if quotes[1:]:
                with st.expander("Alte pasaje relevante", icon=":material/format_quote:"):
                    for quote in quotes[1:]:
                        _show_other(view, quote, words)
        else:
            st.info("Niciun citat din paginile selectate.")
        st.caption(md_escape(answer.contact_line))
    else:
        st.markdown(f"**{md_escape(answer.message)}**")
        st.markdown(md_escape(answer.contact_line))
        st.markdown("Puteți reformula întrebarea, cu alte cuvinte, sau alege una dintre întrebările "
                    "la care politica răspunde:")
        _examples(view, f"example-{index}")
        if quotes:
            with st.expander("Cele mai apropiate secțiuni (doar ca referință)", icon=":material/info:"):
                for quote in quotes:
                    _show_other(view, quote, words, context=False)
    key = f"feedback-{message['id']}"
    if key not in st.session_state and message.get("feedback") is not None:
        st.session_state[key] = message["feedback"]
    # The callback records a click before the sidebar's export is drawn; the return value keeps
    # the message in step with the widget whatever set it.
    message["feedback"] = st.feedback("thumbs", key=key, on_change=_record_feedback, args=(message["id"],))
    if view.staff:
        _staff_panel(view, message, answer, quotes)


def _previous_query() -> str | None:
    for message in reversed(history()):
        if message.get("role") == "assistant":
            return None if message.get("error") else message.get("query")
    return None


def _ask(view: View, question: str, standalone: bool = False) -> None:
    """Answer now and keep both sides in the history; only the session holds them."""
    number = st.session_state.get("asked", 0) + 1
    message: dict[str, Any] = {"role": "assistant", "id": number, "question": question, "query": question,
                               "answers": {}, "retrieval": None, "ms": 0.0, "feedback": None}
    started = time.perf_counter()
    try:
        previous = None if standalone else _previous_query()
        turn = r.contextualize(question, previous)
        message["query"] = turn.query
        if turn.continues:
            message["previous"] = next(m["question"] for m in reversed(history()) if m.get("role") == "assistant")
        answer = r.ask(view.engine, turn.query, k=view.k)
        message["answers"][view.k] = answer
        message["shown"] = answer.quotes[0].citation if answer.quotes and not answer.abstained else answer.message
    except r.QuestionError as exc:
        message["error"] = str(exc)
    except r.RetrievalError as exc:
        st.error(str(exc))
        st.stop()
    message["ms"] = (time.perf_counter() - started) * 1000
    entries = history()
    entries.extend([{"role": "user", "text": question}, message])
    del entries[:-MAX_MESSAGES]
    st.session_state["asked"] = number


def main(staff: bool = False, k: int = USER_K, pages: set[str] | None = None) -> None:
    view = View(load_engine(), staff, k if staff else USER_K, set(pages or ()) if staff else set())
    typed = st.chat_input(PLACEHOLDER, max_chars=MAX_QUESTION_CHARS)
    from_example = standalone = False
    question = typed
    pending = st.session_state.pop("pending_question", None)
    from_button = bool(st.session_state.pop("pending_from_example", False))
    alone = bool(st.session_state.pop("pending_standalone", False))
    if not question and pending:
        question, from_example, standalone = pending, from_button, alone
    if question:
        _ask(view, question, standalone)

    st.title("Pentru echipa de suport" if staff else "Întrebări despre datele dvs.")
    if staff:
        st.markdown("Aceeași conversație ca a vizitatorilor, plus scorurile secțiunilor, motivul deciziei și un "
                    "răspuns pentru e-mail, cu citatele alese de dvs.")
    else:
        st.markdown("Întrebați orice despre felul în care sunt folosite, partajate și protejate datele dvs. "
                    "personale. Răspunsurile sunt **citate cuvânt cu cuvânt** din politica de confidențialitate, "
                    "cu trimitere la secțiunea din care provin; apăsați pe o trimitere ca să vedeți întreaga "
                    "secțiune.")
    st.caption(":material/lock: Conversația rămâne în această fereastră: nu este salvată și nu este "
               "trimisă nicăieri. Totul rulează local.")
    if history():
        st.button("Conversație nouă", icon=":material/restart_alt:", on_click=_clear)
    if view.loaded.rebuilt and not st.session_state.get("rebuild_noted"):
        st.session_state["rebuild_noted"] = True
        st.toast("Indexul a fost reconstruit: " + view.loaded.rebuilt, icon=":material/build:")

    for n, message in enumerate(history()):
        if message["role"] == "user":
            with st.chat_message("user"):
                st.text(message["text"])  # plain text: typed Markdown/HTML is never rendered
        else:
            with st.chat_message("assistant"):
                _show_answer(view, message, n)

    if not history():
        st.markdown("**Puteți începe cu una dintre aceste întrebări:**")
        _examples(view, "start")
    elif question:
        # Only in the run that asked: bring the question into view, announce the answer and,
        # after an example click, give the keyboard back to the input. height=1: 0 is refused
        st.iframe(scroll_to_last_question_js(st.session_state["asked"]), height=1, alt="Derulare la răspuns")
        a11y.announce_answer(st.session_state["asked"], focus_input=from_example)
