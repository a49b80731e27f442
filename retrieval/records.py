"""Sections, chunks and units on disk as JSON lines read lazily through a memory map.

Why: parsing one JSON document and making one Python object per record made load
grow with the corpus (27 s and ~400k live objects at 20,000 sections, issue 12).
A question only ever looks at a few dozen sections, so each record is parsed when
first asked for; the file's pages are shared by every process serving the index.
"""
from __future__ import annotations

import json
import mmap
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

import numpy as np

T = TypeVar("T")
CACHE_LIMIT = 50_000  # parsed records kept per file: a busy server's working set, never the whole corpus


def write_records(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """One compact JSON object a line, and `<name>.offsets.npy` with each line's start (and the end)."""
    offsets = [0]
    with open(path, "wb") as handle:
        for record in records:
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            handle.write(line)
            offsets.append(offsets[-1] + len(line))
    np.save(offsets_path(path), np.array(offsets, dtype=np.int64), allow_pickle=False)


def offsets_path(path: Path) -> Path:
    return path.with_name(path.stem + ".offsets.npy")


class Records(Sequence[T], Generic[T]):
    """A read-only list of records backed by a JSON-lines file: `records[i]` parses line i once."""

    def __init__(self, path: Path, make: Callable[[dict[str, Any]], T]) -> None:
        # a plain view of the memory map: np.memmap's own indexing cost ~15 us a record (profiled)
        self._offsets = np.asarray(np.load(offsets_path(path), mmap_mode="r", allow_pickle=False))
        if self._offsets.ndim != 1 or len(self._offsets) < 1:
            raise ValueError(f"{path.name}: bad offsets")
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            if size != int(self._offsets[-1]):
                raise ValueError(f"{path.name}: size does not match its offsets")
            self._data: mmap.mmap | bytes = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self._make = make
        self._n = len(self._offsets) - 1
        self._parsed: dict[int, T] = {}

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...

    def __getitem__(self, i: int | slice) -> T | list[T]:
        if type(i) is int:   # hot path: answers read the same few records many times a question
            record = self._parsed.get(i)
            if record is not None:
                return record
        if isinstance(i, slice):
            return [self[n] for n in range(*i.indices(self._n))]
        if not -self._n <= i < self._n:
            raise IndexError(i)
        i = int(i) % self._n
        record = self._parsed.get(i)
        if record is None:
            start, end = int(self._offsets[i]), int(self._offsets[i + 1])
            record = self._make(json.loads(self._data[start:end]))
            if len(self._parsed) >= CACHE_LIMIT:
                self._parsed.clear()
            self._parsed[i] = record
        return record

    def __iter__(self) -> Iterator[T]:
        return (self[i] for i in range(len(self)))
