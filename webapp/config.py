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


# ---------------------------------------------------------------- staff access and reply templates

STAFF_TOKEN_ENV = "PRIVACY_STAFF_TOKEN"
GREETING_ENV = "PRIVACY_REPLY_GREETING"
CLOSING_ENV = "PRIVACY_REPLY_CLOSING"
MIN_TOKEN_CHARS = 12   # a shorter token is refused: staff tools stay locked rather than guessable

DEFAULT_GREETING = "Bună ziua,\n\nVă mulțumim pentru întrebare. Iată ce prevede politica noastră de confidențialitate:"
DEFAULT_CLOSING = ("Dacă aveți și alte întrebări, ne puteți scrie la {contact}.\n\n"
                   "Cu stimă,\nEchipa de suport")


def staff_token() -> str:
    """The token that unlocks the staff pages; "" (locked for everyone) when unset or too short."""
    token = os.environ.get(STAFF_TOKEN_ENV, "").strip()
    return token if len(token) >= MIN_TOKEN_CHARS else ""


def _template(name: str, default: str) -> str:
    # An environment variable holds one line: "\n" written in it means a new line.
    value = os.environ.get(name, "").replace("\\n", "\n").strip()
    return value or default


def reply_templates() -> tuple[str, str]:
    """(greeting, closing) of the staff reply; `{contact}` in either is replaced by the contact."""
    return _template(GREETING_ENV, DEFAULT_GREETING), _template(CLOSING_ENV, DEFAULT_CLOSING)
