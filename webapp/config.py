"""Where the app finds its pages, index and question set.

Paths default to folders beside app.py, so the app works from any working
directory; environment variables override them (tests point them at temp dirs).
`PRIVACY_CONTACT` is who a visitor can write to when the policy does not answer
(used only when no page declares `contact:` in its front matter).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent

CORPUS_ENV = "PRIVACY_CORPUS_DIR"
INDEX_ENV = "PRIVACY_INDEX_DIR"
QUESTIONS_ENV = "PRIVACY_QUESTIONS_FILE"
CONTACT_ENV = "PRIVACY_CONTACT"


@dataclass(frozen=True)
class Paths:
    index: Path
    corpus: Path | None   # None: no pages beside the app, use the index as built
    questions: Path


def _from_env(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else None


def paths() -> Paths:
    """Current paths; read on every call so a changed environment is honoured."""
    corpus = _from_env(CORPUS_ENV)
    if corpus is None:
        default = APP_DIR / "corpus"
        # An explicitly configured corpus must exist (a clear error otherwise);
        # the default one may be absent when only a built index is deployed.
        corpus = default if default.is_dir() else None
    return Paths(
        index=_from_env(INDEX_ENV) or APP_DIR / "index",
        corpus=corpus,
        questions=_from_env(QUESTIONS_ENV) or APP_DIR / "eval" / "questions.jsonl",
    )


def contact() -> str:
    """The configured contact (e-mail, address or page), "" when unset; read on every call."""
    return " ".join(os.environ.get(CONTACT_ENV, "").split())
