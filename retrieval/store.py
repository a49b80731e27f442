"""The on-disk index: write it atomically, load it, tell when it is stale.

The build pipeline (parse, chunk, embed, BM25, topics) lives in `indexing.py`;
this module only knows files.

Layout of `index/`:
    manifest.json          format version, model, dimension, chunker, corpus fingerprint,
                           and which generation folder is current
    gen-<id>/metadata.json sections, chunks and quotable units (JSON, no pickle)
    gen-<id>/chunks.faiss  dense vectors of chunks (inner product = cosine)
    gen-<id>/units.faiss   dense vectors of quotable units
    gen-<id>/bm25/         bm25s lexical index over chunks

A build writes a fresh generation folder, then swaps `manifest.json` with one
atomic `os.replace`. A crash at any moment leaves the previous manifest pointing
at the previous, complete generation.

Integrity (docs/hardening.md): the manifest holds the size and sha256 of every
data file of its generation, checked by `staleness` and `load_index` (hashing the
0.94 MB of the shipped generation takes 0.85 ms), so flipped bytes mean a rebuild, never a
wrong answer; files that parse but disagree (ids out of range, wrong types) are
a BrokenIndexError too. A generation renamed into place but not yet published is
marked `.pending-<gen>` until its manifest is swapped in, and clean-up never
removes a marked one (another build may be about to publish it). A disk that is
full or read-only is an IndexWriteError with one clear line; nothing half-written stays.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .chunking import CHUNK_OVERLAP, CHUNK_SIZE, Chunk, Unit
from .embeddings import model_key
from .errors import BrokenIndexError, IndexWriteError, RetrievalError
from .language import load_language
from .lexical import LexicalIndex
from .pages import Section, corpus_files
from .topics import load_taxonomy

# 5: section title vectors; 4: per-file checksums; 3: plain-text sections, unit offsets, topics, example vectors
FORMAT_VERSION = 5
MANIFEST = "manifest.json"
PENDING = ".pending-"   # + generation name: renamed into place, manifest not swapped yet
_GENERATION = re.compile(r"gen-[0-9A-Za-z-]{1,64}")
Progress = Callable[[int, int, str], None]


@dataclass
class LoadedIndex:
    manifest: dict[str, Any]
    sections: list[Section]
    chunks: list[Chunk]
    units: list[Unit]
    chunk_vectors: faiss.Index
    unit_matrix: np.ndarray
    lexical: LexicalIndex
    example_matrix: np.ndarray          # taxonomy example questions, embedded by the index's model
    example_topics: list[str]           # topic id of each example row ("offtopic" for non-privacy ones)
    pages: dict[str, dict[str, str]]    # source -> {"title", "url", "contact"}
    title_matrix: np.ndarray            # each section's own heading, embedded as a query (one row a section)


def corpus_fingerprint(corpus_dir: Path) -> dict[str, Any]:
    """sha256 of every page, and one digest over all of them (order-independent of disk)."""
    files = {p.relative_to(corpus_dir).as_posix(): _sha256(p) for p in corpus_files(Path(corpus_dir))}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return {"files": files, "fingerprint": digest}


def chunker_settings() -> dict[str, Any]:
    return {"splitter": "RecursiveCharacterTextSplitter", "chunk_size": CHUNK_SIZE, "chunk_overlap": CHUNK_OVERLAP}


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def file_checksums(folder: Path) -> dict[str, dict[str, Any]]:
    """{relative path: {"size", "sha256"}} of every file of a generation folder."""
    return {p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": _sha256(p)}
            for p in sorted(folder.rglob("*")) if p.is_file()}


def write_generation(index_dir: Path, files: dict[str, Callable[[Path], None]]) -> str:
    """Write a new generation folder through a staging folder; returns its name.

    The generation is marked pending (see `publish`) before it is renamed into place.
    """
    generation = f"gen-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    pending = index_dir / f"{PENDING}{generation}"
    staging: Path | None = None
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=index_dir))
        for name, write in files.items():
            write(staging / name)
        _fsync_tree(staging)
        pending.touch()
        os.replace(staging, index_dir / generation)
    except BaseException as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        pending.unlink(missing_ok=True)
        if isinstance(exc, OSError | RuntimeError):   # faiss reports a failed write as RuntimeError
            raise IndexWriteError(index_dir, exc) from None
        raise
    return generation


def publish(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Point the manifest at a written generation (one atomic rename), then tidy up."""
    path = index_dir / MANIFEST
    try:
        if path.is_dir() and not path.is_symlink():   # a folder in the manifest's place cannot be replaced
            shutil.rmtree(path)
        write_json_atomic(path, manifest)
    except OSError as exc:
        raise IndexWriteError(index_dir, exc) from None
    finally:
        (index_dir / f"{PENDING}{manifest['generation']}").unlink(missing_ok=True)
    _remove_old_generations(index_dir, keep=manifest["generation"])


def read_manifest(index_dir: Path) -> dict[str, Any]:
    path = Path(index_dir) / MANIFEST
    damaged = f"Indexul din {index_dir} este deteriorat (manifest.json ilizibil)"
    if path.is_dir():
        raise BrokenIndexError(damaged)
    if not path.is_file():
        raise BrokenIndexError(f"Nu există niciun index în {index_dir}")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        manifest["generation"], manifest["model"], manifest["corpus"]["fingerprint"]
    except (ValueError, KeyError, TypeError, OSError, RecursionError):
        raise BrokenIndexError(damaged) from None
    if not (isinstance(manifest, dict) and isinstance(manifest["generation"], str)
            and _GENERATION.fullmatch(manifest["generation"]) and isinstance(manifest["model"], str)
            and isinstance(manifest["corpus"], dict) and isinstance(manifest["corpus"]["fingerprint"], str)
            and isinstance(manifest["corpus"].get("files", {}), dict)):
        raise BrokenIndexError(damaged)
    return manifest


def verify_files(index_dir: Path, manifest: dict[str, Any]) -> str | None:
    """None when every data file of the generation has the size and sha256 the manifest names, else why not."""
    folder = Path(index_dir) / manifest["generation"]
    expected = manifest.get("files")
    if not isinstance(expected, dict) or not expected:
        return "manifestul nu are sumele de control ale fișierelor"
    try:
        for name, want in expected.items():
            path = folder / name
            if not (isinstance(want, dict) and isinstance(name, str) and ".." not in Path(name).parts):
                return "manifestul are sume de control ilizibile"
            if not path.is_file() or path.stat().st_size != want.get("size") or _sha256(path) != want.get("sha256"):
                return f"{name}: conținut modificat"
    except OSError as exc:
        return f"fișierele indexului nu pot fi citite ({exc.strerror})"
    return None


def staleness(index_dir: Path, corpus_dir: Path | None = None, model: str | None = None) -> str | None:
    """Why the index no longer matches the pages/model/code/its own files, or None when it is fresh."""
    manifest = read_manifest(index_dir)
    if manifest.get("format_version") != FORMAT_VERSION:
        return "indexul a fost construit de o versiune diferită a programului"
    damage = verify_files(index_dir, manifest)
    if damage:
        return f"indexul din {index_dir} este deteriorat ({damage})"
    if manifest.get("chunker") != chunker_settings():
        return "setările de fragmentare s-au schimbat"
    recorded = manifest.get("language")
    try:
        language = load_language(str(recorded.get("code"))) if isinstance(recorded, dict) else None
    except RetrievalError:
        language = None
    if language is None or recorded != language.to_json():
        return "resursele limbii s-au schimbat"
    if manifest.get("taxonomy") != load_taxonomy(language.folder / "topics.yaml").digest:
        return "taxonomia temelor de confidențialitate s-a schimbat"
    if model is not None and model_key(model) != manifest["model"]:
        return f"modelul s-a schimbat ({manifest['model']} → {model_key(model)})"
    corpus = Path(corpus_dir) if corpus_dir is not None else Path(manifest["corpus"]["dir"])
    current = corpus_fingerprint(corpus)
    if current["fingerprint"] != manifest["corpus"]["fingerprint"]:
        before, now = manifest["corpus"]["files"], current["files"]
        changed = sorted(set(before) ^ set(now) | {f for f in before.keys() & now.keys() if before[f] != now[f]})
        return "paginile s-au schimbat: " + ", ".join(changed)
    return None


def load_index(index_dir: Path) -> LoadedIndex:
    """Load the current generation; any damage becomes a BrokenIndexError with a fix."""
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    damage = verify_files(index_dir, manifest)
    if damage:
        raise BrokenIndexError(f"Indexul din {index_dir} este deteriorat ({damage})")
    folder = index_dir / manifest["generation"]
    try:
        metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        sections = [Section.from_json(s) for s in metadata["sections"]]
        chunks = [Chunk(**c) for c in metadata["chunks"]]
        units = [Unit(**u) for u in metadata["units"]]
        chunk_vectors = faiss.read_index(str(folder / "chunks.faiss"))
        unit_matrix = _matrix(faiss.read_index(str(folder / "units.faiss")))
        example_matrix = np.load(folder / "examples.npy", allow_pickle=False)
        title_matrix = np.load(folder / "titles.npy", allow_pickle=False)
        example_topics = [str(t) for t in metadata["example_topics"]]
        pages = {str(k): {str(a): str(b) for a, b in v.items()} for k, v in metadata["pages"].items()}
        lexical = LexicalIndex.load(folder / "bm25", load_language(str(manifest["language"]["code"])))
    except Exception as exc:  # faiss, numpy and json each raise their own types for a damaged file
        raise BrokenIndexError(f"Indexul din {index_dir} este deteriorat ({type(exc).__name__})") from None
    counts = (chunk_vectors.ntotal, len(unit_matrix), lexical.size, chunk_vectors.d, len(example_matrix))
    if counts != (len(chunks), len(units), len(chunks), manifest.get("dimension"), len(example_topics)):
        raise BrokenIndexError(f"Indexul din {index_dir} este incomplet")
    disagreement = _disagreement(sections, chunks, units, unit_matrix, example_matrix, lexical)
    if disagreement is None and (title_matrix.ndim != 2 or title_matrix.shape != (len(sections), unit_matrix.shape[1])):
        disagreement = "vectorii titlurilor nu se potrivesc cu secțiunile"
    if disagreement:
        raise BrokenIndexError(f"Indexul din {index_dir} este deteriorat ({disagreement})")
    return LoadedIndex(manifest, sections, chunks, units, chunk_vectors, unit_matrix, lexical,
                       example_matrix, example_topics, pages, title_matrix)


def _disagreement(sections: list[Section], chunks: list[Chunk], units: list[Unit], unit_matrix: np.ndarray,
                  example_matrix: np.ndarray, lexical: LexicalIndex) -> str | None:
    """Why files that each parse do not fit together (ids out of range, empty parts), or None.

    Every later step indexes one list by another's ids: a wrong id there is an
    IndexError in the middle of a question, so it is caught here, once, at load.
    """
    n = len(sections)
    if not n or not chunks or not units:
        return "fără secțiuni"
    if any(not s.text.strip() or not s.path for s in sections):
        return "secțiune goală"
    if any(not 0 <= c.section < n for c in chunks):
        return "fragment cu secțiune inexistentă"
    for u in units:
        if not 0 <= u.section < n or not 0 <= u.start <= u.end <= len(sections[u.section].text) or (
                u.intro is not None and not 0 <= u.intro < len(units)):
            return "propoziție în afara secțiunii ei"
    if unit_matrix.ndim != 2 or example_matrix.ndim != 2 or (
            len(example_matrix) and example_matrix.shape[1] != unit_matrix.shape[1]):
        return "vectori de dimensiuni diferite"
    if not lexical.consistent():
        return "indexul BM25 are identificatori în afara fragmentelor"
    return None


def _matrix(index: faiss.Index) -> np.ndarray:
    """All vectors of a flat index, for scoring a handful of rows exactly."""
    if not index.ntotal:
        return np.zeros((0, index.d), np.float32)
    return np.ascontiguousarray(index.reconstruct_n(0, index.ntotal))


def flat_ip(vectors: np.ndarray) -> faiss.Index:
    # Exact search: policy corpora are small (hundreds of chunks), so no ANN approximation.
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)   # nothing half-written stays when the disk is full


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def _remove_old_generations(index_dir: Path, keep: str, abandoned_after_s: float = 3600) -> None:
    """Drop superseded generations, and staging folders a crashed build left behind.

    A staging folder younger than an hour may belong to a build running right now
    in another process (the app and the CLI can build at once): it is left alone.
    So is a generation marked pending (another build renamed it into place and is
    about to swap the manifest to it), and the one the manifest names now (another
    build may have published after this one).
    """
    now = time.time()
    keep_names = {keep}
    with contextlib.suppress(BrokenIndexError):
        keep_names.add(read_manifest(index_dir)["generation"])
    try:
        entries = list(index_dir.iterdir())
    except OSError:
        return
    for path in entries:
        try:
            age = now - path.stat().st_mtime
            if path.name.startswith(PENDING) and age > abandoned_after_s:
                path.unlink(missing_ok=True)   # a build that crashed between rename and publish
                continue
            if not path.is_dir() or path.name in keep_names:
                continue
            pending = index_dir / f"{PENDING}{path.name}"
            about_to_publish = pending.exists() and now - pending.stat().st_mtime <= abandoned_after_s
            superseded = path.name.startswith("gen-") and not about_to_publish
            abandoned = path.name.startswith(".building-") and age > abandoned_after_s
            if superseded or abandoned:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue   # a folder another build just removed, or one we may not touch: not ours to fail on
