"""The API's settings, all from the environment (a container sets them; nothing to edit in code).

    PRIVACY_POLICIES       JSON {"name": {"index": DIR, "corpus": DIR, "rebuild": true}, ...}; default: one
                           policy named PRIVACY_POLICY_NAME ("onedu") on PRIVACY_INDEX_DIR / PRIVACY_CORPUS_DIR
                           (default index/ and corpus/ beside the project)
    PRIVACY_READ_ONLY      "1": never build, only follow the generations a builder publishes (replicas)
    PRIVACY_CORS_ORIGINS   comma-separated origins allowed to call the API from a browser (the help site)
    PRIVACY_RATE_LIMIT     questions per minute per client address and worker (default 30; 0 = off)
    PRIVACY_MAX_BODY_BYTES request body limit (default 8192: a 2,000-character question is at most ~8 KB of UTF-8)
    PRIVACY_THREADS        questions answered at once per worker process (default 4)
    PRIVACY_CHECK_EVERY_S  seconds between checks for a new index generation or edited pages (default 1)
    PRIVACY_CONTACT        who to write to when no page declares `contact:` (read by the library)
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.service import PolicySource, check_every_from_env

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it (shown at start-up)."""


@dataclass(frozen=True)
class Settings:
    policies: dict[str, PolicySource]
    cors_origins: tuple[str, ...] = ()
    rate_limit: int = 30            # per minute, per client address, per worker process
    max_body_bytes: int = 8192
    check_every: float = 1.0
    threads: int = 4                # questions answered at once per worker (PRIVACY_THREADS)
    extra: dict[str, str] = field(default_factory=dict)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} trebuie să fie un număr întreg, nu „{raw}”") from None
    if value < 0:
        raise ConfigError(f"{name} nu poate fi negativ")
    return value


def _path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (ROOT / path)


def _policies(read_only: bool) -> dict[str, PolicySource]:
    raw = os.environ.get("PRIVACY_POLICIES", "").strip()
    if not raw:
        name = os.environ.get("PRIVACY_POLICY_NAME", "").strip() or "onedu"
        index = _path(os.environ.get("PRIVACY_INDEX_DIR", "").strip() or "index")
        corpus_env = os.environ.get("PRIVACY_CORPUS_DIR", "").strip()
        corpus = _path(corpus_env) if corpus_env else (ROOT / "corpus" if (ROOT / "corpus").is_dir() else None)
        return {name: PolicySource(index, corpus, rebuild=not read_only)}
    try:
        spec = json.loads(raw)
        assert isinstance(spec, dict) and spec
        return {str(name): PolicySource(_path(str(p["index"])),
                                        _path(str(p["corpus"])) if p.get("corpus") else None,
                                        rebuild=bool(p.get("rebuild", True)) and not read_only)
                for name, p in spec.items()}
    except (ValueError, AssertionError, KeyError, TypeError, AttributeError):
        raise ConfigError('PRIVACY_POLICIES trebuie să fie JSON: {"nume": {"index": "dosar", "corpus": "dosar"}}'
                          ) from None


def from_env() -> Settings:
    read_only = os.environ.get("PRIVACY_READ_ONLY", "").strip() in ("1", "true", "yes")
    origins = tuple(o.strip().rstrip("/") for o in os.environ.get("PRIVACY_CORS_ORIGINS", "").split(",")
                    if o.strip())
    return Settings(policies=_policies(read_only), cors_origins=origins,
                    rate_limit=_int("PRIVACY_RATE_LIMIT", 30), max_body_bytes=_int("PRIVACY_MAX_BODY_BYTES", 8192),
                    check_every=check_every_from_env(), threads=max(1, _int("PRIVACY_THREADS", 4)))
