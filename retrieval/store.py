"""The on-disk index: write it atomically, load it, tell when it is stale.

The build pipeline (parse, chunk, embed, BM25, topics) lives in `indexing.py`;
this module only knows files.

Layout of `index/`:
    manifest.json          format version, model, dimension, chunker, corpus fingerprint,
                           and which generation folder is current
    gen-<id>/metadata.json pages, covered topics, taxonomy example topics (small JSON)
    gen-<id>/{sections,chunks,units}.jsonl  one record a line, + `.offsets.npy`, read lazily (records.py)
    gen-<id>/{chunk,unit}_section.npy        owning section of each chunk / unit (int32)
    gen-<id>/unit_cues.npy the cues each unit matches, one bit each (uint8 rows; names in metadata.json)
    gen-<id>/chunks.npy, units.npy           dense vectors (float32, inner product = cosine), memory-mapped
    gen-<id>/chunks.sq     FAISS fast-scan index of the chunk vectors (4 bits), only for large corpora (ANN_MIN_CHUNKS)
    gen-<id>/titles.sq     the same over the title vectors, written with chunks.sq
    gen-<id>/bm25/         bm25s lexical index over chunks, memory-mapped
    cache/<model>.npz      embedding cache (indexing.py), shared by successive builds
    cache/cues/<digest>.npz  each unit text's cue bits (indexing.CueCache), by taxonomy and language

Loading is flat in the corpus size (issue 12): vectors, offsets and BM25 arrays
are memory-mapped, so the OS reads only the pages a question touches and every
process serving one index shares them; records are parsed on first use.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .chunking import CHUNK_OVERLAP, CHUNK_SIZE, INTRO_CHARS, Chunk, Unit
from .embeddings import model_key
from .errors import BrokenIndexError, IndexWriteError, RetrievalError
from .language import load_language
from .lexical import LexicalIndex
from .pages import READER_VERSION, Section, corpus_files
from .records import Records
from .topics import load_taxonomy

# 3: plain-text sections from a markdown parser, unit offsets, topics, example vectors
# 4: lazy JSON-lines records, memory-mapped .npy vectors, HNSW for large corpora (issue 12)
# 5: + per-file checksums in the manifest (issue 10), section title vectors
# 6: + titles.sq beside chunks.hnsw (a format-5 large index would pool without its titles)
# 7: chunks.sq (4-bit scan, both ends of the cosine range) replaces chunks.hnsw (see scan_index)
# 8: + unit_cues.npy, the topic, detail and answer-form cues each unit matches (candidates.cue_table)
FORMAT_VERSION = 8
# From here a chunk search scans 4-bit codes instead of every vector (bench/scale.py). 50,000 until
# round 7: at 10,000 sections (18,498 chunks) the scan took engine-only ask from 8.6 / 9.6 to
# 5.3 / 6.2 ms p50 / p95, top-1 = exhaustive 0.995 both ways (200 questions)
ANN_MIN_CHUNKS = 10_000
PQ_MIN = 1_000           # from here chunks.sq and titles.sq are 4-bit PQ fast scans; below, exact flat
FULL_CHECK_MAX_SECTIONS = 2_000  # below this every record is checked at load; above, ids by array only
MANIFEST = "manifest.json"
PENDING = ".pending-"   # + generation name: renamed into place, manifest not swapped yet
_GENERATION = re.compile(r"gen-[0-9A-Za-z-]{1,64}")
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
    title_matrix: np.ndarray            # each section's own heading, embedded as a query (one row a section)
    chunk_section: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # owner of each chunk
    unit_section: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))   # owner of each unit
    covered_topics: frozenset[str] = frozenset()   # topics some section is labelled with
    chunk_scan: faiss.Index | None = None  # chunk_matrix in 4 bits to scan, large corpora only, else None (exact)
    title_scan: faiss.Index | None = None  # title_matrix in 4 bits to scan, present exactly when chunk_scan is
    unit_cues: np.ndarray | None = None    # memory-mapped uint8 bits, one row a unit (candidates.cue_table) ...
    unit_cue_names: tuple[str, ...] = ()   # ... and the cue each bit stands for

    @property
    def chunk_vectors(self) -> faiss.Index:
        """An exact FAISS index over the chunk vectors (built on demand; for tools and tests)."""
        return flat_ip(np.asarray(self.chunk_matrix))


def corpus_fingerprint(corpus_dir: Path) -> dict[str, Any]:
    """sha256 of every page, and one digest over all of them (order-independent of disk)."""
    files = {p.relative_to(corpus_dir).as_posix(): _sha256(p) for p in corpus_files(Path(corpus_dir))}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return {"files": files, "fingerprint": digest}


def chunker_settings() -> dict[str, Any]:
    """How pages were read and split: an index built under other rules is stale (rebuilt through the cache)."""
    return {"splitter": "RecursiveCharacterTextSplitter", "chunk_size": CHUNK_SIZE, "chunk_overlap": CHUNK_OVERLAP,
            "intro_chars": INTRO_CHARS, "reader": READER_VERSION}


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


# sha256 of a file already hashed by this process, by (path, size, mtime, inode): a generation is hashed
# once per process, not at every freshness check (a 100,000-section index is hundreds of MB).
_HASHED: dict[tuple[str, int, int, int], str] = {}


def _file_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    digest = _HASHED.get(key)
    if digest is None:
        digest = _HASHED[key] = _sha256(path)
    return digest


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
            if not path.is_file() or path.stat().st_size != want.get("size") or (
                    _file_sha256(path) != want.get("sha256")):
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
        return "regulile de citire sau de fragmentare a paginilor s-au schimbat"
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
    """Load the current generation; any damage becomes a BrokenIndexError with a fix.

    Nothing here is proportional to the corpus but the memory maps (issue 12): at
    100,000 sections load stays under a second (bench/scale.py).
    """
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    damage = verify_files(index_dir, manifest)
    if damage:
        raise BrokenIndexError(f"Indexul din {index_dir} este deteriorat ({damage})")
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
        title_matrix = np.load(folder / "titles.npy", allow_pickle=False)
        example_topics = [str(t) for t in metadata["example_topics"]]
        covered = frozenset(str(t) for t in metadata["covered_topics"])
        pages = {str(k): {str(a): str(b) for a, b in v.items()} for k, v in metadata["pages"].items()}
        lexical = LexicalIndex.load(folder / "bm25", load_language(str(manifest["language"]["code"])), mmap=True)
        chunk_scan, title_scan = _read_faiss(folder / "chunks.sq"), _read_faiss(folder / "titles.sq")
        unit_cues = _mapped(folder / "unit_cues.npy", np.uint8, 2)
        cue_names = tuple(str(n) for n in metadata["unit_cues"])
    except Exception as exc:  # faiss, numpy and json each raise their own types for a damaged file
        raise BrokenIndexError(f"Indexul din {index_dir} este deteriorat ({type(exc).__name__})") from None
    counts = (len(chunk_matrix), len(unit_matrix), lexical.size, chunk_matrix.shape[1], len(example_matrix),
              len(chunk_section), len(unit_section), chunk_scan.ntotal if chunk_scan is not None else len(chunks),
              title_scan.ntotal if title_scan is not None else len(sections), chunk_scan is None, unit_cues.shape)
    if counts != (len(chunks), len(units), len(chunks), manifest.get("dimension"), len(example_topics),
                  len(chunks), len(units), len(chunks), len(sections), title_scan is None,
                  (len(units), (len(cue_names) + 7) // 8)):
        raise BrokenIndexError(f"Indexul din {index_dir} este incomplet")
    disagreement = _disagreement(sections, chunks, units, chunk_section, unit_section, unit_matrix,
                                 example_matrix, title_matrix, lexical)
    if disagreement:
        raise BrokenIndexError(f"Indexul din {index_dir} este deteriorat ({disagreement})")
    return LoadedIndex(manifest, sections, chunks, units, chunk_matrix, unit_matrix, lexical,
                       example_matrix, example_topics, pages, title_matrix, chunk_section, unit_section, covered,
                       chunk_scan, title_scan, unit_cues, cue_names)


def _read_faiss(path: Path) -> faiss.Index | None:
    """A FAISS index of a large corpus (`scan_index`), or None for a small one."""
    if not path.exists():
        return None
    # IO_FLAG_MMAP_IFC maps what it can instead of reading it (a fast-scan index is read: at 100,000
    # sections titles.sq is 19 MB, chunks.sq 36 MB).
    found: faiss.Index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
    return found


def _disagreement(sections: Sequence[Section], chunks: Sequence[Chunk], units: Sequence[Unit],
                  chunk_section: np.ndarray, unit_section: np.ndarray, unit_matrix: np.ndarray,
                  example_matrix: np.ndarray, title_matrix: np.ndarray, lexical: LexicalIndex) -> str | None:
    """Why files that each parse do not fit together (ids out of range, empty parts), or None.

    Every later step indexes one list by another's ids: a wrong id there is an
    IndexError in the middle of a question, so it is caught here, once, at load.
    Owner ids are checked as arrays at every size; the records themselves (offsets,
    empty text) only up to FULL_CHECK_MAX_SECTIONS, since parsing every record would
    undo the lazy load of a large index (its files are checksummed all the same).
    """
    n = len(sections)
    if not n or not len(chunks) or not len(units):
        return "fără secțiuni"
    for owners in (chunk_section, unit_section):
        if len(owners) and (int(owners.min()) < 0 or int(owners.max()) >= n):
            return "fragment cu secțiune inexistentă"
    if n <= FULL_CHECK_MAX_SECTIONS:
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
    if title_matrix.ndim != 2 or title_matrix.shape != (n, unit_matrix.shape[1]):
        return "vectorii titlurilor nu se potrivesc cu secțiunile"
    if not lexical.consistent():
        return "indexul BM25 are identificatori în afara fragmentelor"
    return None


def _mapped(path: Path, dtype: type, ndim: int) -> np.ndarray:
    """A memory-mapped .npy array of the expected kind; anything else is damage."""
    array: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False)
    if array.dtype != dtype or array.ndim != ndim:
        raise ValueError(f"{path.name}: {array.dtype} {array.shape}")
    return array


def scan_index(vectors: np.ndarray) -> faiss.Index:
    """Vectors in 4 bits a component (FAISS PQ fast scan, one 16-level codebook per component), for
    a scan of every chunk or title of a large corpus; candidates.pool re-reads what it keeps in float32.

    Titles (100,000 sections, bench/scale.py stand-in vectors, 200 questions): a HNSW graph (M 16,
    efSearch 128) found 39% of the 128 best titles and left top-1 = exhaustive at 0.860; a scan in
    8 bits (38 MB, 2.5 ms) gave 0.910; this one (19 MB) scans in 0.7 ms, and its 256 best re-ranked
    exactly hold 98.5% of the 32 best titles (8 bits: 91%).
    Chunks (185,000, same corpus): the HNSW graph it replaces (M 16) held 52% of the 100 best by
    exact cosine at efSearch 128 (0.35 ms), 81% at 1024 (1.7 ms), and missed the very best chunk of
    2 of the 16 questions whose top-1 differed; this scan's 100 best hold 80% of them and every one
    of the 10 best (1.4 ms, 36 MB), and it finds the lowest cosines as well (for the min-max floor).
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(vectors) < PQ_MIN:   # too few to train 16 levels a component: exact, and small
        return flat_ip(vectors)
    index = faiss.IndexPQFastScan(vectors.shape[1], vectors.shape[1], 4, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(len(vectors), min(len(vectors), 20_000), replace=False)
    index.train(vectors[np.sort(sample)])   # 20,000 vectors train it in ~2 s; the whole set adds nothing
    index.add(vectors)
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
