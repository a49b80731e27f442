"""Which sections a question is scored on, and per-unit facts computed only when a question needs them.

Small corpora (up to EXACT_SECTIONS sections, every policy we have) are scored
whole, exactly as before. Above that, a question scores only a pool of candidate
sections: those owning the top chunks by cosine (exact scan, or HNSW from
store.ANN_MIN_CHUNKS chunks) and by BM25, the best-titled sections (exact, or
a 4-bit scan of every title), plus a fixed sample of "anchor"
sections whose only job is to estimate the whole corpus' minimum dense score for
the min-max normalisation (`Anchors`), so the fused score of a candidate is close
to the one an exhaustive scoring would give it. bench/scale.py measures the agreement
(top-1 section equal to the exhaustive scoring's) at every size.

The per-unit views (`UnitTexts`, `UnitTerms`, `SectionUnits`, `ListItems`) replace
lists built for every unit at load: at 100,000 sections those were ~500k Python
objects, which made load slow and garbage-collector pauses long (issue 12).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TypeVar, overload

import numpy as np

from .chunking import Unit
from .language import Language
from .lexical import terms
from .store import LoadedIndex

EXACT_SECTIONS = 2_000   # up to here every section is scored (≤ 20 ms warm ask at 1,000 sections)
DENSE_CHUNKS = 100       # top chunks by cosine whose sections become candidates
LEXICAL_CHUNKS = 100     # top chunks by BM25 whose sections become candidates
ANCHORS = 2048           # sections whose dense scores estimate the corpus' minimum, for the min-max
TITLE_SECTIONS = 128     # best-titled sections added to the pool (exact, below the ANN size) ...
SCANNED_TITLES = 32      # ... and above it: 128 gave 0.915 against 0.910 (8-bit scan), for 1.2 ms more
TITLE_RERANK = 256       # titles found by the 4-bit scan, re-ranked with their float32 vectors
TAIL = 8                 # the anchors' TAIL lowest scores give the spread of the lower tail
TAIL_SHARE = 0.3         # share of the log-spacing extrapolation (chosen at 10,000 sections, see Anchors)

T = TypeVar("T")


def spans(owners: np.ndarray, sections: np.ndarray) -> list[range]:
    """Rows of each given section in a per-row owner array sorted by section (chunks and units are)."""
    lo = np.searchsorted(owners, sections, side="left")
    hi = np.searchsorted(owners, sections, side="right")
    return [range(int(a), int(b)) for a, b in zip(lo, hi, strict=True)]


def read_rows(matrix: np.ndarray, ranges: list[range]) -> np.ndarray:
    """The rows in `ranges` of a (memory-mapped) matrix, read with `os.pread`.

    Indexing the memory map would map ~64 KB around each row touched (the kernel's fault-around,
    which MADV_RANDOM does not stop): at 100,000 sections the anchors alone mapped 1.1 GB of
    units.npy into the process on the first question. Read, they cost only their own bytes.
    """
    total = sum(len(r) for r in ranges)
    filename, offset = getattr(matrix, "filename", None), getattr(matrix, "offset", None)
    if filename is None or offset is None or matrix.ndim != 2:
        return np.asarray(matrix[np.fromiter((i for r in ranges for i in r), np.int64, total)])
    row = matrix.shape[1] * matrix.itemsize
    out = np.empty((total, matrix.shape[1]), matrix.dtype)
    done = 0
    with open(filename, "rb", buffering=0) as handle:
        for r in ranges:
            if len(r):
                data = os.pread(handle.fileno(), len(r) * row, offset + r.start * row)
                out[done:done + len(r)] = np.frombuffer(data, matrix.dtype).reshape(len(r), -1)
                done += len(r)
    return out


def pool(index: LoadedIndex, vector: np.ndarray, chunk_lexical: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Sorted ids of the sections worth scoring for this question (see module docstring), and every
    section's title score when they were all computed (below the ANN size), else None."""
    n_chunks = len(index.chunk_section)
    parts = [np.zeros(0, np.int64)]
    titles = None
    if n_chunks:
        if index.chunk_ann is not None:
            _, ids = index.chunk_ann.search(vector[None, :].astype(np.float32), DENSE_CHUNKS)
            dense_ids = ids[0][ids[0] >= 0]
        else:
            cos = index.chunk_matrix @ vector
            dense_ids = _top(cos, DENSE_CHUNKS)
        lexical_ids = _top(chunk_lexical, LEXICAL_CHUNKS)
        lexical_ids = lexical_ids[chunk_lexical[lexical_ids] > 0]
        parts += [index.chunk_section[dense_ids], index.chunk_section[lexical_ids]]
        # Sections whose title matches best: a title can win a section first place on its own
        # (the title term) though none of its chunks is near. Every title is scored: exactly below
        # the ANN size, above it in 4 bits, the best re-ranked exactly (store.title_scan_index).
        # Top-1 equal to exhaustive scoring at 100,000 sections (200 questions, bench/scale.py
        # corpus) 0.860 -> 0.910, engine-only ask p50 +1.2 ms (bench/title_scan.py).
        if index.title_scan is not None:
            _, found = index.title_scan.search(vector[None, :].astype(np.float32), TITLE_RERANK)
            found = np.sort(found[0][found[0] >= 0])
            exact = np.asarray(index.title_matrix[found]) @ vector
            parts.append(found[_top(exact, SCANNED_TITLES)])
        elif index.chunk_ann is None:
            titles = np.asarray(index.title_matrix @ vector)
            parts.append(_top(titles, TITLE_SECTIONS))
    return np.unique(np.concatenate(parts).astype(np.int64)), titles


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    if len(scores) <= k:
        return np.arange(len(scores))
    return np.argpartition(-scores, k)[:k]


class Anchors:
    """Fixed sections, spread over the corpus, whose vectors are copied to memory on first use.

    Exhaustive scoring min-max normalises dense scores by the minimum over every section; a
    pool lacks most of them, and near-ties then flip. Measured at 10,000 sections (200 real
    questions, bench/scale.py corpus): top-1 equal to exhaustive scoring 0.94 with 256 anchors'
    own minimum, 0.98 with 1,024, 0.975 with a normal-tail estimate (the real tail is lighter);
    extrapolating the anchors' lowest scores on a log scale by TAIL_SHARE: 0.985 (1,024 anchors,
    share 0.3; 0.0/0.7/1.0 gave 0.98/0.975/0.965), 1.0 with 2,048 anchors. Their vectors (about
    20,000 rows, 30 MB at any corpus size) are copied to memory on the first pooled question.
    """

    def __init__(self, index: LoadedIndex) -> None:
        self._index = index
        self._n = len(index.sections)
        self._ready = False

    def _load(self) -> None:
        ids = np.unique(np.linspace(0, self._n - 1, min(ANCHORS, self._n)).astype(np.int64)) if self._n else \
            np.zeros(0, np.int64)
        chunk_rows, unit_rows = spans(self._index.chunk_section, ids), spans(self._index.unit_section, ids)
        chunks = np.fromiter((r for rows in chunk_rows for r in rows), np.int64)
        units = np.fromiter((r for rows in unit_rows for r in rows), np.int64)
        self._chunks = read_rows(self._index.chunk_matrix, chunk_rows)
        self._units = read_rows(self._index.unit_matrix, unit_rows)
        self._chunk_owner = np.searchsorted(ids, self._index.chunk_section[chunks])
        self._unit_owner = np.searchsorted(ids, self._index.unit_section[units])
        self._titles = np.asarray(self._index.title_matrix[ids], dtype=np.float32)
        self._m = len(ids)
        self._ready = True

    def expected_minimum(self, vector: np.ndarray) -> float:
        if not self._ready:
            self._load()
        if not self._m:
            return 0.0
        dense = _max_by(self._chunks @ vector, self._chunk_owner, self._m) + _max_by(
            self._units @ vector, self._unit_owner, self._m)
        low = np.sort(dense)[:TAIL]
        if self._m >= self._n or len(low) < TAIL:
            return float(low[0])
        return float(low[0] - TAIL_SHARE * (low[-1] - low[0]) * np.log(self._n / self._m) / np.log(TAIL))


    def title_range(self, vector: np.ndarray) -> tuple[float, float]:
        """Lowest and highest title score of the anchors: the title term's min-max over a pool alone
        flipped near-ties (top-1 equal to exhaustive scoring 0.97 at 1,000 sections, 1.0 without titles)."""
        if not self._ready:
            self._load()
        if not self._m:
            return 0.0, 0.0
        scores = self._titles @ vector
        return float(scores.min()), float(scores.max())


def _max_by(values: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf, dtype=np.float32)
    np.maximum.at(out, owners, values)
    out[np.isinf(out)] = 0.0
    return out


class _Lazy(Sequence[T]):
    """A list whose items are computed on first use and kept (a bounded working set in practice)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._done: dict[int, T] = {}

    def _compute(self, i: int) -> T:
        raise NotImplementedError

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...

    def __getitem__(self, i: int | slice) -> T | list[T]:
        if type(i) is int:   # hot path
            found = self._done.get(i)
            if found is not None:
                return found
        if isinstance(i, slice):
            return [self[n] for n in range(*i.indices(self._size))]
        if not -self._size <= i < self._size:
            raise IndexError(i)
        i = int(i) % self._size
        value = self._done.get(i)
        if value is None:
            value = self._done[i] = self._compute(i)
        return value


class UnitTexts(_Lazy[str]):
    def __init__(self, index: LoadedIndex) -> None:
        super().__init__(len(index.units))
        self._index = index

    def _compute(self, i: int) -> str:
        unit = self._index.units[i]
        return unit.text_in(self._index.sections[unit.section].text)


class UnitTerms(_Lazy[frozenset[str]]):
    def __init__(self, texts: UnitTexts, language: Language | None = None) -> None:
        super().__init__(len(texts))
        self._texts = texts
        self._language = language

    def _compute(self, i: int) -> frozenset[str]:
        return frozenset(terms(self._texts[i], self._language))


class SectionUnits(_Lazy[list[int]]):
    """Unit ids of each section, in page order."""

    def __init__(self, index: LoadedIndex) -> None:
        super().__init__(len(index.sections))
        self._owners = index.unit_section

    def _compute(self, i: int) -> list[int]:
        return list(spans(self._owners, np.array([i]))[0])


class ListItems:
    """`get(unit)`: the list items a unit introduces (or a parent item's sub-items), computed per section."""

    def __init__(self, units: Sequence[Unit], section_units: SectionUnits) -> None:
        self._units = units
        self._section_units = section_units
        self._done: dict[int, dict[int, list[int]]] = {}

    def _of_section(self, section: int) -> dict[int, list[int]]:
        found = self._done.get(section)
        if found is None:
            found = {}
            for i in self._section_units[section]:
                unit = self._units[i]
                if unit.intro is not None and unit.kind == "item" and unit.marker:
                    found.setdefault(unit.intro, []).append(i)
            self._done[section] = found
        return found

    def get(self, unit: int, default: list[int] | None = None) -> list[int]:
        if not 0 <= unit < len(self._units):
            return [] if default is None else default
        items = self._of_section(self._units[unit].section).get(unit)
        return items if items is not None else ([] if default is None else default)
