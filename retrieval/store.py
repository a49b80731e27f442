"""The on-disk index: write it atomically, load it, tell when it is stale.

The build pipeline (parse, chunk, embed, BM25, topics) lives in `indexing.py`;
this module only knows files.

Layout of `index/`:
    manifest.json          format version, model, dimension, chunker, corpus fingerprint,
                           and which generation folder is current
    gen-<id>/metadata.json pages, covered topics, taxonomy example topics (small JSON)
    gen-<id>/{sections,chunks,units}.jsonl  one record a line, + `.offsets.npy`, read lazily (records.py)
    gen-<id>/{chunk,unit}_section.npy        owning section of each chunk / unit (int32)
    gen-<id>/chunks.npy, units.npy           dense vectors (float32, inner product = cosine), memory-mapped
    gen-<id>/chunks.hnsw   FAISS HNSW graph over chunk vectors, only for large corpora (ANN_MIN_CHUNKS)
    gen-<id>/bm25/         bm25s lexical index over chunks, memory-mapped
    cache/<model>.npz      embedding cache (indexing.py), shared by successive builds

Loading is flat in the corpus size (issue 12): vectors, offsets and BM25 arrays
are memory-mapped, so the OS reads only the pages a question touches and every
process serving one index shares them; records are parsed on first use.

A build writes a fresh generation folder, then swaps `manifest.json` with one
atomic `os.replace`. A crash at any moment leaves the previous manifest pointing
at the previous, complete generation.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .chunking import CHUNK_OVERLAP, CHUNK_SIZE, Chunk, Unit
from .embeddings import model_key
from .errors import BrokenIndexError
from .lexical import LexicalIndex
from .pages import Section, corpus_files
from .records import Records
from .topics import load_taxonomy

# 3: plain-text sections from a markdown parser, unit offsets, topics, example vectors
# 4: lazy JSON-lines records, memory-mapped .npy vectors, HNSW for large corpora (issue 12)
FORMAT_VERSION = 4
ANN_MIN_CHUNKS = 50_000  # from here a chunk search scans a HNSW graph instead of every vector (bench/scale.py)
HNSW_M = 16              # graph degree: 32 doubled the build time for no measured recall gain at k = 100
HNSW_EF_SEARCH = 128
MANIFEST = "manifest.json"
Progress = Callable[[int, int, str], None]


@dataclass
class LoadedIndex:
    manifest: dict[str, Any]
    sections: Sequence[Section]         # lazy (records.py): a record is parsed when first used
    chunks: Sequence[Chunk]
    units: Sequence[Unit]
    chunk_matrix: np.ndarray            # memory-mapped float32, one row a chunk
    unit_matrix: np.ndarray             # memory-mapped float32, one row a unit
    lexical: LexicalIndex
    example_matrix: np.ndarray          # taxonomy example questions, embedded by the index's model
    example_topics: list[str]           # topic id of each example row ("offtopic" for non-privacy ones)
    pages: dict[str, dict[str, str]]    # source -> {"title", "url", "contact"}
    chunk_section: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # owner of each chunk
    unit_section: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))   # owner of each unit
    covered_topics: frozenset[str] = frozenset()   # topics some section is labelled with
    chunk_ann: faiss.Index | None = None  # HNSW over chunk_matrix for large corpora, else None (exact)

    @property
    def chunk_vectors(self) -> faiss.Index:
        """An exact FAISS index over the chunk vectors (built on demand; for tools and tests)."""
        return flat_ip(np.asarray(self.chunk_matrix))


def corpus_fingerprint(corpus_dir: Path) -> dict[str, Any]:
    """sha256 of every page, and one digest over all of them (order-independent of disk)."""
    files = {
        p.relative_to(corpus_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in corpus_files(Path(corpus_dir))
    }
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return {"files": files, "fingerprint": digest}


def chunker_settings() -> dict[str, Any]:
    return {"splitter": "RecursiveCharacterTextSplitter", "chunk_size": CHUNK_SIZE, "chunk_overlap": CHUNK_OVERLAP}


def write_generation(index_dir: Path, files: dict[str, Callable[[Path], None]]) -> str:
    """Write a new generation folder through a staging folder; returns its name."""
    index_dir.mkdir(parents=True, exist_ok=True)
    generation = f"gen-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=index_dir))
    try:
        for name, write in files.items():
            write(staging / name)
        _fsync_tree(staging)
        os.replace(staging, index_dir / generation)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return generation


def publish(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Point the manifest at a written generation (one atomic rename), then tidy up."""
    write_json_atomic(index_dir / MANIFEST, manifest)
    _remove_old_generations(index_dir, keep=manifest["generation"])


def read_manifest(index_dir: Path) -> dict[str, Any]:
    path = Path(index_dir) / MANIFEST
    if not path.is_file():
        raise BrokenIndexError(f"Nu există niciun index în {index_dir}")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        manifest["generation"], manifest["model"], manifest["corpus"]["fingerprint"]
    except (ValueError, KeyError, TypeError):
        raise BrokenIndexError(f"Indexul din {index_dir} este deteriorat (manifest.json ilizibil)") from None
    return manifest


def staleness(index_dir: Path, corpus_dir: Path | None = None, model: str | None = None) -> str | None:
    """Why the index no longer matches the pages/model/code, or None when it is fresh."""
    manifest = read_manifest(index_dir)
    if manifest.get("format_version") != FORMAT_VERSION:
        return "indexul a fost construit de o versiune diferită a programului"
    if manifest.get("chunker") != chunker_settings():
        return "setările de fragmentare s-au schimbat"
    if manifest.get("taxonomy") != load_taxonomy().digest:
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
    """Load the current generation; any damage becomes a BrokenIndexError with a fix.

    Nothing here is proportional to the corpus but the memory maps (issue 12): at
    100,000 sections load stays under a second (bench/scale.py).
    """
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    if manifest.get("format_version") != FORMAT_VERSION:
        # Another layout: never read it as this one (the caller rebuilds, reusing the cache).
        raise BrokenIndexError(f"Indexul din {index_dir} are alt format (construit de altă versiune a programului)")
    folder = index_dir / manifest["generation"]
    try:
        metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        sections: Records[Section] = Records(folder / "sections.jsonl", Section.from_json)
        chunks: Records[Chunk] = Records(folder / "chunks.jsonl", lambda c: Chunk(**c))
        units: Records[Unit] = Records(folder / "units.jsonl", lambda u: Unit(**u))
        chunk_matrix = _mapped(folder / "chunks.npy", np.float32, 2)
        unit_matrix = _mapped(folder / "units.npy", np.float32, 2)
        chunk_section = _mapped(folder / "chunk_section.npy", np.int32, 1)
        unit_section = _mapped(folder / "unit_section.npy", np.int32, 1)
        example_matrix = np.load(folder / "examples.npy", allow_pickle=False)
        example_topics = [str(t) for t in metadata["example_topics"]]
        covered = frozenset(str(t) for t in metadata["covered_topics"])
        pages = {str(k): {str(a): str(b) for a, b in v.items()} for k, v in metadata["pages"].items()}
        lexical = LexicalIndex.load(folder / "bm25", mmap=True)
        ann = None
        if (folder / "chunks.hnsw").exists():
            # IO_FLAG_MMAP_IFC maps the graph's vectors instead of reading them: load stays flat.
            ann = faiss.read_index(str(folder / "chunks.hnsw"), faiss.IO_FLAG_MMAP_IFC)
            faiss.ParameterSpace().set_index_parameter(ann, "efSearch", HNSW_EF_SEARCH)
    except Exception as exc:  # faiss, numpy and json each raise their own types for a damaged file
        raise BrokenIndexError(f"Indexul din {index_dir} este deteriorat ({type(exc).__name__})") from None
    counts = (len(chunk_matrix), len(unit_matrix), lexical.size, chunk_matrix.shape[1], len(example_matrix),
              len(chunk_section), len(unit_section), ann.ntotal if ann is not None else len(chunks))
    if counts != (len(chunks), len(units), len(chunks), manifest.get("dimension"), len(example_topics),
                  len(chunks), len(units), len(chunks)):
        raise BrokenIndexError(f"Indexul din {index_dir} este incomplet")
    return LoadedIndex(manifest, sections, chunks, units, chunk_matrix, unit_matrix, lexical,
                       example_matrix, example_topics, pages, chunk_section, unit_section, covered, ann)


def _mapped(path: Path, dtype: type, ndim: int) -> np.ndarray:
    """A memory-mapped .npy array of the expected kind; anything else is damage."""
    array: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False)
    if array.dtype != dtype or array.ndim != ndim:
        raise ValueError(f"{path.name}: {array.dtype} {array.shape}")
    return array


def hnsw_index(vectors: np.ndarray) -> faiss.Index:
    """The ANN graph over chunk vectors for corpora above ANN_MIN_CHUNKS."""
    index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def flat_ip(vectors: np.ndarray) -> faiss.Index:
    # Exact search: policy corpora are small (hundreds of chunks), so no ANN approximation.
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def _remove_old_generations(index_dir: Path, keep: str, abandoned_after_s: float = 3600) -> None:
    """Drop superseded generations, and staging folders a crashed build left behind.

    A staging folder younger than an hour may belong to a build running right now
    in another process (the app and the CLI can build at once): it is left alone.
    """
    now = time.time()
    for path in index_dir.iterdir():
        if not path.is_dir() or path.name == keep:
            continue
        if path.name.startswith("gen-") or (
                path.name.startswith(".building-") and now - path.stat().st_mtime > abandoned_after_s):
            shutil.rmtree(path, ignore_errors=True)
