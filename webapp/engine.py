"""The app's view of the library's `Service`: one per process, progress shown in the page that builds.

Loading, rebuilding, noticing edited pages or a new index generation and
swapping without dropping a question all live in `retrieval.service`, shared
with the HTTP API and the CLI. This module only adds what is Streamlit's:
`st.cache_resource` keeps one service per (index, corpus) pair for the whole
process, a status box with a progress bar while a build runs, and the library's
message instead of a traceback when nothing can be loaded.

Every run (every question) asks the service for its snapshot; the service
checks the disk at most once a second (`PRIVACY_CHECK_EVERY_S`), so an open
session answers from edited pages on its next question.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

import retrieval as r
from retrieval.engine import Engine
from retrieval.pages import Section
from retrieval.service import MAX_EXAMPLES, check_every_from_env

from .config import Paths, contact, paths
from .render import md_escape

__all__ = ["MAX_EXAMPLES", "Loaded", "load_engine", "service"]
CHECKED = "_index_checked"  # session flag: this session has checked the disk at least once


@dataclass
class Loaded:
    """The engine plus what every page needs of it (computed once per index generation)."""

    engine: Engine
    paths: Paths
    sections: dict[tuple[str, str], Section]   # (source, anchor) -> section
    pages: list[str]                            # page titles, in index order
    examples: list[str]
    rebuilt: str | None = None                  # why the index was (re)built before loading
    contact: str = ""                           # PRIVACY_CONTACT, for a policy without `contact:`
    generation: str = ""

    def section(self, source: str, anchor: str) -> Section | None:
        return self.sections.get((source, anchor))


@st.cache_resource(show_spinner=False)
def service(index_dir: str, corpus_dir: str | None) -> r.Service:
    """The process-wide service for these paths (a changed environment gets its own)."""
    return r.Service.single(Path(index_dir), None if corpus_dir is None else Path(corpus_dir), name="app",
                            check_every=check_every_from_env())


class _BuildProgress:
    """Shows a status box with a progress bar, only once the library says it is building."""

    def __init__(self) -> None:
        self._status = None
        self._bar = None
        self.reason: str | None = None
        self.started = 0.0
        self._label_started: dict[str, float] = {}

    def on_rebuild(self, reason: str) -> None:
        self.reason = reason
        self.started = time.perf_counter()
        self._status = st.status("Se construiește indexul politicii de confidențialitate…", expanded=True)
        with self._status:
            st.caption(f"Motiv: {md_escape(reason)}")
            self._bar = st.progress(0.0, text="Se pregătesc paginile…")

    def progress(self, done: int, total: int, label: str) -> None:
        if self._bar is None:
            self.on_rebuild("indexul lipsește")
        share = done / total if total else 1.0
        started = self._label_started.setdefault(label, time.perf_counter())
        self._bar.progress(min(1.0, share), text=f"Se calculează vectorii pentru {label}: {done} din {total}"
                                                  f"{_rate_eta(done, total, time.perf_counter() - started)}")

    def finish(self) -> None:
        if self._status is not None:
            seconds = time.perf_counter() - self.started
            self._status.update(label=f"Index construit în {seconds:.1f} s", state="complete", expanded=False)


def _rate_eta(done: int, total: int, elapsed: float) -> str:
    """" · 12,3/s · încă ~40 s" once there is a rate to speak of (a large build takes minutes)."""
    if done <= 0 or elapsed < 1.0 or done >= total:
        return ""
    rate = done / elapsed
    left = (total - done) / rate
    eta = f"{left:.0f} s" if left < 120 else f"{left / 60:.0f} min" if left < 7200 else f"{left / 3600:.1f} h"
    return f" · {rate:.1f}/s · încă ~{eta}".replace(".", ",")


def load_engine() -> Loaded:
    """The newest engine; on a RetrievalError the page shows it and stops."""
    current = paths()
    svc = service(str(current.index), None if current.corpus is None else str(current.corpus))
    ui = _BuildProgress()
    try:
        # A new session checks the disk whatever the rate limit (it may be a reload after an edit).
        snap = svc.snapshot(progress=ui.progress, on_rebuild=ui.on_rebuild,
                            fresh=not st.session_state.get(CHECKED))
    except r.RetrievalError as exc:
        _stop_with(str(exc))
        raise  # unreachable: st.stop() raises
    ui.finish()
    st.session_state[CHECKED] = True
    return Loaded(snap.engine, current, snap.sections, snap.pages, snap.examples, snap.rebuilt, contact(),
                  snap.generation)


def _stop_with(message: str) -> None:
    """The library's message, as-is, instead of a traceback; nothing else can run without an engine."""
    st.error(md_escape(message), icon=":material/error:")  # paths and file names are text, not Markdown
    st.stop()
