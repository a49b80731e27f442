"""One engine per process, loaded (and if needed built) with visible progress.

`st.cache_resource` holds a slot per (index, corpus) pair rather than the engine
itself: a cached function that draws a progress bar would replay it on every
cache hit, and a failed load must not be cached (fix the pages, reload, done).
The slot's lock makes concurrent first visits wait for a single build.

Each new session checks (a few ms) that the pages and the index on disk are
still the ones the engine was loaded from; if not, the engine is reloaded,
rebuilding the index first when the pages changed.
"""
from __future__ import annotations

import errno
import threading
import time
from dataclasses import dataclass, field, replace

import streamlit as st

import retrieval as r
from retrieval.engine import Engine
from retrieval.pages import Section
from retrieval.store import corpus_fingerprint, read_manifest

from .config import Paths, contact, paths
from .render import md_escape

# Questions a user might ask, shown as buttons; only those the policy answers are kept.
EXAMPLE_QUESTIONS = [
    "Cu ce firme partajați datele mele?",
    "Vindeți datele mele?",
    "Unde sunt stocate informațiile mele?",
    "Cum îmi protejați informațiile?",
    "Cum mă pot dezabona de la e-mailuri?",
    "Ce faceți dacă primiți un mandat de percheziție?",
]
MAX_EXAMPLES = 4
CHECKED = "_index_checked"  # session flag: this session has checked the engine is current


@dataclass
class Loaded:
    """The engine plus what every page needs of it, computed once."""

    engine: Engine
    paths: Paths
    sections: dict[tuple[str, str], Section]   # (source, anchor) -> section
    pages: list[str]                            # page titles, in index order
    examples: list[str]
    rebuilt: str | None = None                  # why the index was (re)built before loading
    contact: str = ""                           # PRIVACY_CONTACT, for a policy without `contact:`

    def section(self, source: str, anchor: str) -> Section | None:
        return self.sections.get((source, anchor))


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    loaded: Loaded | None = None


@st.cache_resource(show_spinner=False)
def _slot(index_dir: str, corpus_dir: str | None) -> _Slot:
    return _Slot()


class _BuildProgress:
    """Shows a status box with a progress bar, only once the library says it is building."""

    def __init__(self, where) -> None:
        self._where = where
        self._status = None
        self._bar = None
        self.reason: str | None = None
        self.started = 0.0
        self._label_started: dict[str, float] = {}

    def on_rebuild(self, reason: str) -> None:
        self.reason = reason
        self.started = time.perf_counter()
        with self._where:
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


def _examples(engine: Engine, sections: list[Section]) -> list[str]:
    """Example questions the policy does answer (checked, not assumed)."""
    good = [q for q in EXAMPLE_QUESTIONS if not engine.retrieve(q).abstained]
    if not good:  # another policy: its own question-shaped headings are the next best thing
        good = [s.title for s in sections if s.title.endswith("?")]
    return good[:MAX_EXAMPLES]


def _open(where, current: Paths) -> Loaded:
    ui = _BuildProgress(where)
    engine = r.open_engine(current.index, corpus_dir=current.corpus, progress=ui.progress,
                           on_rebuild=ui.on_rebuild)
    ui.finish()
    records = list(engine.index.sections)
    pages = list(dict.fromkeys(s.page_title for s in records))
    return Loaded(engine, current, {(s.source, s.anchor): s for s in records}, pages,
                  _examples(engine, records), ui.reason, contact())


_OS_REASONS = {
    errno.EEXIST: "există deja un fișier cu acest nume, nu un dosar",
    errno.ENOTDIR: "calea nu este un dosar",
    errno.EACCES: "acces interzis",
    errno.EPERM: "operație nepermisă",
    errno.ENOSPC: "discul este plin",
    errno.EROFS: "discul este doar pentru citire",
    errno.ENOENT: "fișierul nu există",
}


def _outdated(loaded: Loaded, current: Paths) -> bool:
    """Pages edited, or the index rebuilt elsewhere, since this engine was loaded?"""
    manifest = loaded.engine.index.manifest
    try:
        if current.corpus is not None and (
                corpus_fingerprint(current.corpus)["fingerprint"] != manifest["corpus"]["fingerprint"]):
            return True
        return read_manifest(current.index)["generation"] != manifest["generation"]
    except r.RetrievalError:
        return True  # the reload reports what is wrong


def load_engine() -> Loaded:
    """The process-wide engine; on a RetrievalError the page shows it and stops."""
    current = paths()
    slot = _slot(str(current.index), None if current.corpus is None else str(current.corpus))
    loaded = slot.loaded
    if loaded is not None and (st.session_state.get(CHECKED) or not _outdated(loaded, current)):
        st.session_state[CHECKED] = True
        return _with_contact(slot)
    where = st.container()
    try:
        if not slot.lock.acquire(blocking=False):
            with where, st.spinner("Indexul se pregătește într-o altă sesiune, așteptați câteva secunde…"):
                slot.lock.acquire()
        try:
            if slot.loaded is None or _outdated(slot.loaded, current):
                slot.loaded = _open(where, current)
        finally:
            slot.lock.release()
    except r.RetrievalError as exc:
        _stop_with(str(exc))
    except OSError as exc:
        why = _OS_REASONS.get(exc.errno, exc.strerror or type(exc).__name__)
        _stop_with(f"Indexul sau paginile nu pot fi citite ori scrise ({why}): {exc.filename or current.index}")
    st.session_state[CHECKED] = True
    return _with_contact(slot)


def _with_contact(slot: _Slot) -> Loaded:
    """The slot's engine with the contact set now (the setting is read per run, not cached)."""
    current = contact()
    if slot.loaded is not None and slot.loaded.contact != current:
        slot.loaded = replace(slot.loaded, contact=current)
    return slot.loaded


def _stop_with(message: str) -> None:
    """The library's message, as-is, instead of a traceback; nothing else can run without an engine."""
    st.error(md_escape(message), icon=":material/error:")  # paths and file names are text, not Markdown
    st.stop()
