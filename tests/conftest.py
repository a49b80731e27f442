"""Shared fixtures: the real pages, a real index built once per session, the real CLI."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory) -> Path:
    """The shipped corpus indexed with the default model, in a private folder."""
    from retrieval.store import build_index

    folder = tmp_path_factory.mktemp("index")
    build_index(CORPUS, folder)
    return folder


@pytest.fixture(scope="session")
def engine(shipped_index):
    from retrieval.engine import Engine

    return Engine.open(shipped_index)


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A copy of the pages that a test may edit."""
    return Path(shutil.copytree(CORPUS, tmp_path / "corpus"))


@pytest.fixture
def tiny_corpus(tmp_path) -> Path:
    """A one-page corpus: quick to index, for tests about the index rather than the pages."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "cookie.md").write_text(
        "---\ntitle: Cookie\n---\n# Cookie-uri\nFolosim cookie-uri pentru a măsura traficul.\n", encoding="utf-8")
    return folder


@pytest.fixture
def index_copy(shipped_index, tmp_path) -> Path:
    """A copy of the session index that a test may damage."""
    return Path(shutil.copytree(shipped_index, tmp_path / "index"))


def _run(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "retrieval", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout)


@pytest.fixture
def run_cli():
    """Run `python -m retrieval ...` in a subprocess, as a user would."""
    return _run
