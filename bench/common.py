"""Shared set-up for the benchmark scripts: the shipped index and question set."""
from __future__ import annotations

from pathlib import Path

from retrieval.engine import Engine
from retrieval.errors import BrokenIndexError
from retrieval.evaluation import Question, evaluate, load_questions
from retrieval.indexing import build_index
from retrieval.store import staleness

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = ROOT / "eval" / "questions.jsonl"
CORPUS = ROOT / "corpus"
INDEX = ROOT / "index"


def engine() -> Engine:
    """The shipped index, rebuilt first if missing or stale."""
    try:
        stale = staleness(INDEX, CORPUS)
    except BrokenIndexError:
        stale = "missing"
    if stale:
        build_index(CORPUS, INDEX)
    return Engine.open(INDEX)


def questions(split: str | None = None) -> list[Question]:
    items, errors = load_questions(QUESTIONS)
    assert not errors, errors
    return [q for q in items if split is None or q.extra.get("split") == split]


def metrics(engine: Engine, items: list[Question]) -> dict:
    return evaluate(engine, items, k=5).summary
