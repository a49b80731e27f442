"""One long-lived service over one or more policies: what the app, the HTTP API and the CLI share.

    service = Service({"onedu": PolicySource(Path("index"), Path("corpus"))})
    answer = service.ask("Vindeți datele mele?", k=3, policy="onedu")

A process that answers many questions (a Streamlit server, an API worker) must
notice when the index or the pages change under it and swap to the new index
without failing the questions in flight. That logic lives here, not in a UI:

  * Every question first asks `snapshot()`, which at most once per
    `check_every` seconds stats the manifest and the pages (mtime, size, inode:
    90 µs for the two ONedu pages, load average 9) and compares that with what
    the loaded engine was built from. Only when the stats moved does it hash the
    pages and read the manifest (0.33 ms), so an editor's `touch` costs no reload.
  * A new generation on disk (another process rebuilt) is loaded; pages that
    no longer match the index are rebuilt first (when `rebuild` is allowed:
    a read-only replica only follows the manifest), one build at a time per
    index folder across processes (`flock`), so N workers do not build N times.
  * The swap is one reference assignment. A question already running keeps its
    `Snapshot` (the engine holds everything in memory; the old generation's files
    may be deleted under it), and other threads go on answering from the current
    snapshot while one thread reloads; nothing waits except the first load.
  * A reload that fails (a page edited into something unreadable) keeps the
    previous snapshot serving and records why (`PolicyState.error`); it is
    retried once the files change again.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .answer import Answer, answer as _answer
from .engine import Engine
from .errors import CorpusError, RetrievalError, StaleIndexError
from .pages import Section, corpus_files
from .store import MANIFEST, Progress, corpus_fingerprint, read_manifest

CHECK_EVERY_S = 1.0   # freshness checks per policy at most this often (an edit shows within a second)
LOCK_FILE = ".build.lock"

MAX_EXAMPLES = 4


@dataclass(frozen=True)
class PolicySource:
    """Where one policy's index lives, and whether this process may (re)build it."""

    index: Path
    corpus: Path | None = None    # None: use the index as built (its pages may not be deployed)
    model: str | None = None      # None: the model the index was built with
    rebuild: bool = True          # False: a read-only replica that only follows new generations


class Snapshot:
    """One loaded generation of one policy and what every caller needs of it, computed once."""

    def __init__(self, name: str, engine: Engine, rebuilt: str | None) -> None:
        self.name = name
        self.engine = engine
        self.rebuilt = rebuilt                 # why the index was (re)built before loading, if it was
        self.loaded_at = time.time()
        records = list(engine.index.sections)
        self.sections: dict[tuple[str, str], Section] = {(s.source, s.anchor): s for s in records}
        self.pages: list[str] = list(dict.fromkeys(s.page_title for s in records))

    @property
    def generation(self) -> str:
        return str(self.engine.index.manifest["generation"])

    @property
    def model(self) -> str:
        return str(self.engine.index.manifest["model"])

    def section(self, source: str, anchor: str) -> Section | None:
        return self.sections.get((source, anchor))

    @cached_property
    def examples(self) -> list[str]:
        """Example questions the policy does answer (checked, not assumed): ~6 questions, ~0.1 s, once."""
        good = [q for q in self.engine.language.examples if not self.engine.retrieve(q).abstained]  # language.yaml
        if not good:  # another policy: its own question-shaped headings are the next best thing
            good = [s.title for s in self.engine.index.sections if s.title.endswith("?")]
        return good[:MAX_EXAMPLES]

    def ask(self, question: str, k: int = 3) -> Answer:
        return _answer(self.engine, question, k)


@dataclass
class PolicyState:
    """Health of one policy, for `/v1/health` and the like."""

    name: str
    ready: bool
    generation: str | None = None
    model: str | None = None
    loaded_at: float | None = None
    error: str | None = None     # why the last (re)load failed; the previous snapshot, if any, still serves

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ready": self.ready, "generation": self.generation, "model": self.model,
                "loaded_at": self.loaded_at, "error": self.error}


Signature = tuple[tuple[str, int, int, int], ...]


@dataclass
class _Policy:
    name: str
    source: PolicySource
    lock: threading.Lock = field(default_factory=threading.Lock)
    current: Snapshot | None = None
    signature: Signature | None = None     # file stats when `current` was checked against the disk
    next_check: float = 0.0
    error: str | None = None
    reloads: int = 0


class Service:
    """Engines for several policies by name, each kept on the newest index generation."""

    def __init__(self, policies: Mapping[str, PolicySource], check_every: float = CHECK_EVERY_S) -> None:
        if not policies:
            raise ValueError("at least one policy")
        self._policies = {name: _Policy(name, source) for name, source in policies.items()}
        self.check_every = check_every

    @classmethod
    def single(cls, index: Path, corpus: Path | None = None, name: str = "default", **options: Any) -> Service:
        check_every = options.pop("check_every", CHECK_EVERY_S)
        return cls({name: PolicySource(Path(index), None if corpus is None else Path(corpus), **options)},
                   check_every=check_every)

    @property
    def names(self) -> list[str]:
        return list(self._policies)

    @property
    def default(self) -> str:
        return next(iter(self._policies))

    def source(self, policy: str | None = None) -> PolicySource:
        return self._get(policy).source

    def _get(self, policy: str | None) -> _Policy:
        name = self.default if policy is None else policy
        try:
            return self._policies[name]
        except KeyError:
            raise UnknownPolicyError(name) from None

    def snapshot(self, policy: str | None = None, progress: Progress | None = None,
                 on_rebuild: Callable[[str], None] | None = None, fresh: bool = False) -> Snapshot:
        """The policy's newest loaded generation; loads, rebuilds or swaps first when the disk moved on.

        `fresh=True` checks the disk whatever the rate limit. Raises RetrievalError only
        when there is nothing to serve at all (the first load failed).
        """
        state = self._get(policy)
        current = state.current
        now = time.monotonic()
        if current is not None and now < state.next_check and not fresh:
            return current
        state.next_check = now + self.check_every
        if current is not None and not self._moved(state):
            return current
        if current is not None and not state.lock.acquire(blocking=False):
            return current      # another thread is reloading: answer from the current generation meanwhile
        if current is None:
            state.lock.acquire()   # the first load: everyone waits for the one build
        try:
            if state.current is None or state.current is current:
                self._reload(state, progress, on_rebuild)
        finally:
            state.lock.release()
        if state.current is None:
            raise RetrievalError(state.error or "Indexul nu a putut fi încărcat")
        return state.current

    def ask(self, question: str, k: int = 3, policy: str | None = None) -> Answer:
        """Answer from the newest generation; a swap in the middle never fails the question."""
        return self.snapshot(policy).ask(question, k)

    def load_all(self) -> None:
        """Load every policy now (a server's start-up), so the first visitor does not wait."""
        for name in self._policies:
            with contextlib.suppress(RetrievalError):
                self.snapshot(name)

    def refresh(self, policy: str | None = None) -> Snapshot:
        """Check the disk now, whatever the rate limit."""
        return self.snapshot(policy, fresh=True)

    def state(self, policy: str | None = None) -> PolicyState:
        state = self._get(policy)
        snap = state.current
        if snap is None:
            return PolicyState(state.name, False, error=state.error)
        return PolicyState(state.name, True, snap.generation, snap.model, snap.loaded_at, state.error)

    def reloads(self, policy: str | None = None) -> int:
        """How many times the policy was (re)loaded in this process (tests and health)."""
        return self._get(policy).reloads

    # -- freshness ---------------------------------------------------------------------------

    def _signature(self, source: PolicySource) -> Signature:
        """Stats of the manifest and of every page: cheap, and it moves whenever either is rewritten."""
        paths = [source.index / MANIFEST]
        if source.corpus is not None:
            with contextlib.suppress(CorpusError, OSError):
                paths += corpus_files(source.corpus)
        stats = []
        for path in paths:
            try:
                st = path.stat()
                stats.append((str(path), st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                stats.append((str(path), -1, -1, -1))
        return tuple(stats)

    def _moved(self, state: _Policy) -> bool:
        """Does the disk hold something newer than the current snapshot? Stats first, hashes only if they moved."""
        signature = self._signature(state.source)
        if signature == state.signature:
            return False
        current = state.current
        assert current is not None
        manifest = current.engine.index.manifest
        try:
            if read_manifest(state.source.index)["generation"] != manifest["generation"]:
                return True
            if state.source.rebuild and state.source.corpus is not None and (
                    corpus_fingerprint(state.source.corpus)["fingerprint"] != manifest["corpus"]["fingerprint"]):
                return True
        except (RetrievalError, OSError):
            return True   # the reload says what is wrong
        state.signature = signature   # touched, or changed back: what is served matches the disk
        if state.source.rebuild:
            state.error = None
        return False

    def _reload(self, state: _Policy, progress: Progress | None,
                on_rebuild: Callable[[str], None] | None) -> None:
        source = state.source
        signature = self._signature(source)   # before loading: an edit during the load is seen next time
        rebuilt: list[str] = []

        def noted(reason: str) -> None:
            rebuilt.append(reason)
            if on_rebuild:
                on_rebuild(reason)

        try:
            engine, warning = _open(source, progress, noted)
        except (RetrievalError, OSError) as exc:
            error = exc if isinstance(exc, RetrievalError) else RetrievalError(_os_message(exc, source.index))
            state.error = str(error)
            state.signature = signature
            if state.current is None:
                raise error from None
            return
        state.current = Snapshot(state.name, engine, rebuilt[0] if rebuilt else None)
        state.signature = signature
        state.error = warning
        state.reloads += 1


def _open(source: PolicySource, progress: Progress | None,
          on_rebuild: Callable[[str], None]) -> tuple[Engine, str | None]:
    """The engine for the source, and a warning when it serves an index older than its pages."""
    from . import open_engine

    try:
        return open_engine(source.index, source.corpus, source.model, rebuild=False), None
    except StaleIndexError as stale:
        if not source.rebuild:   # a read-only replica serves what the builder published
            return Engine.open(source.index), f"Indexul nu mai corespunde paginilor ({stale})"
    # Rebuild under the lock; open_engine checks again inside it, so a build another worker
    # finished while this one waited is loaded, not repeated.
    with _build_lock(source.index):
        return open_engine(source.index, source.corpus, source.model, progress=progress,
                           on_rebuild=on_rebuild), None


class UnknownPolicyError(RetrievalError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Nu există nicio politică numită „{name}”.")
        self.name = name


@contextlib.contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index folder, across processes (serve.sh runs several workers)."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / LOCK_FILE, "a+b")  # noqa: SIM115 - held for the whole build
    except OSError:
        yield    # the build itself will say what is wrong with the folder
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()   # releases the lock


_OS_REASONS = {
    "EEXIST": "există deja un fișier cu acest nume, nu un dosar",
    "ENOTDIR": "calea nu este un dosar",
    "EACCES": "acces interzis",
    "EPERM": "operație nepermisă",
    "ENOSPC": "discul este plin",
    "EROFS": "discul este doar pentru citire",
    "ENOENT": "fișierul nu există",
}


def _os_message(exc: OSError, index_dir: Path) -> str:
    import errno

    why = _OS_REASONS.get(errno.errorcode.get(exc.errno or 0, ""), exc.strerror or type(exc).__name__)
    return f"Indexul sau paginile nu pot fi citite ori scrise ({why}): {exc.filename or index_dir}"


def check_every_from_env(default: float = CHECK_EVERY_S) -> float:
    """`PRIVACY_CHECK_EVERY_S` (seconds between freshness checks); tests set 0."""
    try:
        return max(0.0, float(os.environ.get("PRIVACY_CHECK_EVERY_S", default)))
    except ValueError:
        return default
