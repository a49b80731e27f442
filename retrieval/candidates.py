"""Which sections a question is scored on, and per-unit facts computed only when a question needs them.

Small corpora (up to EXACT_SECTIONS sections, every policy we have) are scored
whole, exactly as before. Above that, a question scores only a pool of candidate
sections (`pool`), chosen so that both the sections that can rank first and the
ends of every min-max range of the exhaustive scoring are in it: those owning the
top chunks by cosine and by BM25, the best-titled sections, and the sections owning
the chunks of LOWEST cosine, which hold the corpus' minimum dense score that
min-max fusion divides by. Cosines come from an exact scan, or from store.ANN_MIN_CHUNKS
chunks a 4-bit scan of every chunk and title (store.scan_index). So the fused score
of a pooled section is the one an exhaustive scoring gives it. bench/scale.py measures
the agreement (top-1 section equal to the exhaustive scoring's) at every size.

The per-unit views (`UnitTexts`, `UnitTerms`, `SectionUnits`, `ListItems`) replace
lists built for every unit at load: at 100,000 sections those were ~500k Python
objects, which made load slow and garbage-collector pauses long (issue 12).
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, TypeVar, overload

import numpy as np

from .chunking import Unit
from .language import Language
from .lexical import terms
from .store import LoadedIndex
from .text import fold_key
from .topics import Taxonomy

EXACT_SECTIONS = 2_000   # up to here every section is scored (≤ 20 ms warm ask at 1,000 sections)
DENSE_CHUNKS = 100       # top chunks by cosine whose sections become candidates
LEXICAL_CHUNKS = 300     # top chunks by BM25 whose sections become candidates (100: see pool) ...
# ... or half as many below LEXICAL_MANY chunks: at 10,000 sections (18,498 chunks) 150 kept top-1 =
# exhaustive at 0.995 and took engine-only ask from 6.1-6.8 / 8.4-8.7 to 4.6-5.6 / 5.1-7.5 ms p50 /
# p95 (alternated, 11:37 UTC); at 100,000 sections (184,934 chunks) 100 gave 0.980, 200 0.990
LEXICAL_MANY = 50_000
LOW_CHUNKS = 200         # chunks of lowest cosine whose sections join the pool: the dense minimum (see pool)
TITLE_SECTIONS = 128     # best-titled sections added to the pool (exact, below the ANN size) ...
SCANNED_TITLES = 32      # ... and above it: 128 gave 0.915 against 0.910 (8-bit scan), for 1.2 ms more
TITLE_RERANK = 256       # titles found by the 4-bit scan, re-ranked with their float32 vectors
LOW_TITLES = 16          # lowest titles by the scan, re-ranked: the title term's minimum

# Matrices up to this size are read by indexing their memory map (units.npy is 118 MB at 10,000
# sections, 1.2 GB at 100,000): see read_rows
GATHER_MAX_BYTES = 256 << 20

T = TypeVar("T")


def spans(owners: np.ndarray, sections: np.ndarray) -> list[range]:
    """Rows of each given section in a per-row owner array sorted by section (chunks and units are)."""
    lo = np.searchsorted(owners, sections, side="left")
    hi = np.searchsorted(owners, sections, side="right")
    return [range(int(a), int(b)) for a, b in zip(lo, hi, strict=True)]


def read_rows(matrix: np.ndarray, start: np.ndarray, count: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Rows of a (memory-mapped) matrix: the runs of `count` rows from each `start`, which are `rows`.

    A matrix of at most GATHER_MAX_BYTES is indexed by `rows`: the whole of it mapped is little,
    and one gather beats a system call a run (a 10,000-section pool's rows 4.9 -> 1.8 ms p50).
    A larger one is read run by run with `os.preadv`: indexing the memory map would map ~64 KB
    around each row touched (the kernel's fault-around, which MADV_RANDOM does not stop): at
    100,000 sections the anchors alone mapped 1.1 GB of units.npy into the process on the first
    question. Read, they cost only their own bytes.
    """
    filename, offset = getattr(matrix, "filename", None), getattr(matrix, "offset", None)
    if filename is None or offset is None or matrix.ndim != 2 or matrix.nbytes <= GATHER_MAX_BYTES:
        return np.asarray(matrix[rows])
    row = matrix.shape[1] * matrix.itemsize
    out = np.empty((len(rows), matrix.shape[1]), matrix.dtype)
    if not out.size:
        return out
    # Straight into `out` (preadv), not a bytes object copied over: 2.5 against 4.1 us a range
    # (1,500 ranges of 1-8 rows of units.npy, pages cached); a pooled question reads ~1,000.
    view, done = out.data.cast("B"), 0
    with open(filename, "rb", buffering=0) as handle:
        fd = handle.fileno()
        for first, n in zip(start.tolist(), count.tolist(), strict=True):
            size = n * row
            if size and os.preadv(fd, [view[done:done + size]], offset + first * row) != size:
                raise OSError(f"{filename}: short read")
            done += size
    return out


class Pool(NamedTuple):
    ids: np.ndarray                          # sorted ids of the sections to score
    titles: np.ndarray | None                # every section's title score, when all were computed
    title_range: tuple[float, float] | None  # else the lowest and highest title score found by the scan


def pool(index: LoadedIndex, vector: np.ndarray, chunk_lexical: np.ndarray) -> Pool:
    """The sections worth scoring for this question (see module docstring).

    Top-1 equal to exhaustive scoring at 100,000 sections (200 questions, bench/scale.py corpus):
    0.920 with the pool before (a HNSW graph for chunks, the dense minimum extrapolated from 2,048
    fixed "anchor" sections, the title range from theirs, 100 chunks by BM25), 0.995 with this one,
    for engine-only ask p50 12.2 -> 13.0 ms, p95 14.2 -> 14.5 ms (same index, alternated). Taking
    one part out (bench/pool.py): the lowest chunks 0.870, the lowest titles 0.970, 100 chunks by
    BM25 0.980 (200: 0.990, 0.9 ms faster). The question left has two of exhaustive scoring's 8 best
    sections 128th and 227th by cosine, 407th and 493rd by BM25.
    """
    n_chunks = len(index.chunk_section)
    parts = [np.zeros(0, np.int64)]
    titles, title_range = None, None
    if n_chunks:
        query = vector[None, :].astype(np.float32)
        if index.chunk_scan is not None:
            # One scan, both ends: the question and its opposite (+1.0 ms over the question alone).
            _, found = index.chunk_scan.search(np.vstack([query, -query]), max(DENSE_CHUNKS, LOW_CHUNKS))
            dense_ids, low_ids = found[0][:DENSE_CHUNKS], found[1][:LOW_CHUNKS]
            dense_ids, low_ids = dense_ids[dense_ids >= 0], low_ids[low_ids >= 0]
        else:
            cos = index.chunk_matrix @ vector
            dense_ids, low_ids = _top(cos, DENSE_CHUNKS), _top(-cos, LOW_CHUNKS)
        positive = np.flatnonzero(chunk_lexical > 0)
        lexical_k = LEXICAL_CHUNKS if n_chunks >= LEXICAL_MANY else max(1, LEXICAL_CHUNKS // 2)
        lexical_ids = positive[_top(chunk_lexical[positive], lexical_k)]
        parts += [index.chunk_section[dense_ids], index.chunk_section[lexical_ids], index.chunk_section[low_ids]]
        # Sections whose title matches best: a title can win a section first place on its own
        # (the title term) though none of its chunks is near. Every title is scored: exactly below
        # the ANN size, above it in 4 bits, the best (and the worst, for the title term's min-max)
        # re-ranked exactly (store.scan_index). Top-1 equal to exhaustive scoring at 100,000
        # sections 0.860 -> 0.910, engine-only ask p50 +1.2 ms (bench/title_scan.py, round 4).
        if index.title_scan is not None:
            _, found = index.title_scan.search(np.vstack([query, -query]), TITLE_RERANK)
            best, worst = np.sort(found[0][found[0] >= 0]), np.sort(found[1][:LOW_TITLES])
            worst = worst[worst >= 0]
            exact = np.asarray(index.title_matrix[best]) @ vector
            parts.append(best[_top(exact, SCANNED_TITLES)])
            lowest = np.asarray(index.title_matrix[worst]) @ vector
            if len(exact) and len(lowest):
                title_range = float(lowest.min()), float(exact.max())
        elif index.chunk_scan is None:
            titles = np.asarray(index.title_matrix @ vector)
            parts.append(_top(titles, TITLE_SECTIONS))
    return Pool(np.unique(np.concatenate(parts).astype(np.int64)), titles, title_range)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best scores, in no order. Above 64 k scores, only those at or above a
    threshold taken from every 16th score are partitioned (exact: a fallback when too few pass):
    BM25's 300 best of 185,000 chunks 1.5 -> 0.3 ms (with the zeros left out first)."""
    n = len(scores)
    if n <= k:
        return np.arange(n)
    if n > 64 * k:
        sample = scores[::16]
        keep = min(len(sample), k // 8 + 1)
        threshold = np.partition(sample, len(sample) - keep)[len(sample) - keep]
        above = np.flatnonzero(scores >= threshold)
        if len(above) >= k:
            return above[np.argpartition(-scores[above], k - 1)[:k]]
    return np.argpartition(-scores, k)[:k]


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


Matcher = Callable[[str], bool]


def cue_matchers(taxonomy: Taxonomy, language: Language) -> list[tuple[str, Matcher]]:
    """Every cue a unit's folded text can match, by name: each topic's and each detail's section cues
    ("topic:retention", "detail:request_fee"), and each answer form ("answer:duration")."""
    found: list[tuple[str, Matcher]] = [(f"topic:{t.id}", t.in_section) for t in taxonomy.topics]
    found += [(f"detail:{t.id}", t.in_section) for t in taxonomy.details]
    found += [(f"answer:{a.name}", _searcher(a.answer)) for a in language.answer_types]
    return found


def _searcher(pattern: re.Pattern[str]) -> Matcher:
    return lambda folded: pattern.search(folded) is not None


def cue_table(texts: Iterable[str], matchers: list[tuple[str, Matcher]]) -> np.ndarray:
    """One row a unit text, bit j (little-endian over the row's bytes) set when matcher j matches it.

    Made at build time (`unit_cues.npy`): matching every topic's cues on a unit's text cost ~0.27 ms
    a unit the first time a question reached it, so a new server's first 100 questions ran engine-only
    p50 11.4 / p95 34.0 ms at 1,000 sections against 3.4 / 5.2 ms once every unit had been seen."""
    flags = np.array([[match(fold_key(text)) for _, match in matchers] for text in texts], dtype=bool)
    return np.packbits(flags.reshape(-1, len(matchers)), axis=1, bitorder="little")


class UnitCues(_Lazy[int]):
    """Each unit's cue bits as one int (see `cue_table`): read from the index's table when it was built
    with these matchers, else matched on first use."""

    def __init__(self, texts: UnitTexts, matchers: list[tuple[str, Matcher]], table: np.ndarray | None) -> None:
        super().__init__(len(texts))
        self._texts = texts
        self._matchers = matchers
        # a plain view of the memory map: np.memmap's own indexing cost ~15 us a row (profiled)
        self._table = None if table is None else np.asarray(table)

    def _compute(self, i: int) -> int:
        if self._table is not None:
            return int.from_bytes(self._table[i].tobytes(), "little")
        folded = fold_key(self._texts[i])
        return sum(1 << j for j, (_, match) in enumerate(self._matchers) if match(folded))


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
