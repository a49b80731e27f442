"""Sections -> retrieval chunks and quotable units (sentences, list items).

Chunks are what the indexes search; units are what an answer quotes. Both are
exact substrings of the page, located by offset, so a quote is always verbatim.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from typing import TYPE_CHECKING

from .pages import Page, Section

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
# Paragraphs first (a list and the sentence introducing it share a paragraph),
# then lines, then sentences: a split lands between list items, never inside one.
SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]

_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+")
# Sentence ends: . ! ? followed by space and an upper-case letter or a quote.
# Hand-written because no Romanian sentence splitter ships offline; abbreviations
# such as "dvs." are followed by lower case in these pages, so they do not split.
_SENTENCE_END = re.compile(
    r"(?<=[.!?…])(?<!\bex\.)(?<!\bnr\.)(?<!\bart\.)(?<!\balin\.)(?<!\bpag\.)(?<!\bstr\.)"
    r"[ \t]+(?=[\"„«(]?[A-ZĂÂÎȘȚŞŢ0-9])"
)


@dataclass(frozen=True)
class Chunk:
    section: int      # index into the section list
    text: str         # verbatim slice of the section
    start: int        # offset in the page file
    context: str      # heading path (and list intro) prepended for the model

    @property
    def embed_text(self) -> str:
        return f"{self.context}\n{self.text}"


@dataclass(frozen=True)
class Unit:
    """A sentence or a list item: the smallest thing an answer quotes."""

    section: int
    text: str
    start: int        # offset in the page file
    kind: str         # "sentence" | "item"
    intro: int | None  # for list items: index of the unit that introduces the list
    marker: str = ""  # the list marker as written ("- "), so marker + text is verbatim too

    @property
    def quote_line(self) -> str:
        return self.marker + self.text


def splitter(chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP) -> "RecursiveCharacterTextSplitter":
    # Imported here: only building needs it, and it costs ~0.35 s of a cold `ask`.
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=chunk_overlap, separators=SEPARATORS,
        keep_separator="end", add_start_index=True, strip_whitespace=True,
    )


def heading_context(page: Page, section: Section) -> str:
    return " › ".join((page.title, *section.path))


def split_units(section: Section, section_index: int) -> list[Unit]:
    """Sentences of prose lines and whole list items, in page order."""
    units: list[Unit] = []
    last_prose: int | None = None
    offset = section.start
    for line in section.text.splitlines(keepends=True):
        line_start, offset = offset, offset + len(line)
        content = line.rstrip()
        if not content.strip():
            last_prose = None  # a blank line ends the paragraph a list could hang from
            continue
        marker = _LIST_ITEM.match(content)
        if marker:
            text = content[marker.end():].strip()
            if text:
                at = content.index(text, marker.end())
                indent = len(content) - len(content.lstrip())
                units.append(Unit(section_index, text, line_start + at, "item", last_prose, content[indent:at]))
            continue
        pos = 0
        for piece in _SENTENCE_END.split(content):
            at = content.index(piece, pos)
            pos = at + len(piece)
            text = piece.strip()
            if text:
                units.append(Unit(section_index, text, line_start + content.index(text, at), "sentence", None))
        last_prose = len(units) - 1
    return units


def chunk_sections(pages: list[Page], chunk_size: int = CHUNK_SIZE,
                   chunk_overlap: int = CHUNK_OVERLAP) -> tuple[list[tuple[Page, Section]], list[Chunk], list[Unit]]:
    """All sections, their chunks (never crossing a section) and their units."""
    split = splitter(chunk_size, chunk_overlap)
    sections: list[tuple[Page, Section]] = []
    chunks: list[Chunk] = []
    units: list[Unit] = []
    for page in pages:
        for section in page.sections:
            index = len(sections)
            sections.append((page, section))
            section_units = split_units(section, index)
            base = len(units)
            units.extend(
                Unit(u.section, u.text, u.start, u.kind, None if u.intro is None else base + u.intro, u.marker)
                for u in section_units
            )
            context = heading_context(page, section)
            for doc in split.create_documents([section.text]):
                start = section.start + doc.metadata["start_index"]
                intro = _list_intro_before(section_units, start, doc.page_content)
                chunks.append(Chunk(index, doc.page_content, start, f"{context}\n{intro}" if intro else context))
    return sections, chunks, units


def _list_intro_before(section_units: list[Unit], start: int, text: str) -> str | None:
    """If a chunk starts inside a list whose intro lies before it, return that intro.

    Keeps a long list's continuation tied to the sentence that introduces it.
    """
    first = next((u for u in section_units if u.start >= start), None)
    if first is None or first.kind != "item" or first.intro is None:
        return None
    intro = section_units[first.intro]
    return intro.text if intro.start < start else None
