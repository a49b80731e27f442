"""Sections -> retrieval chunks and quotable units (sentences, list items, table rows).

Chunks are what the indexes search; units are what an answer quotes. Both are
slices of a section's plain text, located by offset, so a quote is always the
page's own words.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .language import Language, default_language
from .pages import TEXT_BULLETS, Page, Section, cite

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

CHUNK_SIZE = 1000
# No overlap: chunks only give a section its dense score (quotes come from units), and the
# splitter cuts between paragraphs, lines or sentences, never inside one. Measured against 200
# (all sets, `eval eval/questions.jsonl ../shared/policies`): every hit and abstention figure equal,
# whole answer 692 -> 676 characters, 5% fewer tokens for the model in a 240-section build.
CHUNK_OVERLAP = 0
# Paragraphs first (a list and the sentence introducing it share a paragraph),
# then lines, then sentences: a split lands between list items, never inside one.
SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]
# A list's intro repeated before a chunk that continues the list is cut to this many characters.
# e5 reads 512 tokens: a 1,929-character intro (a real sentence of the city-hall policy, before a
# list in the bench/scale.py corpus) left a 966-character chunk ~80 tokens, so the chunk's vector
# was the intro's, and the model paid ~1.9 ms a token for it (1.3 ms at ~170 tokens). No intro of
# the eight real policies is longer (425 characters at most), so their indexes are unchanged.
INTRO_CHARS = 500
# A list item longer than this is quoted sentence by sentence (its first sentence keeps the marker).
LONG_ITEM_CHARS = 280

# "- ", "* ", "+ ", "1. ", "2) ", and the paragraph bullets some pages type ("• ", "– ").
_LIST_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>(?:[-*+]|\d{1,3}[.)]|[" + "".join(TEXT_BULLETS) + r"])[ \t]+)")
ROW_SEPARATOR = " · "


def list_marker(line: str) -> tuple[int, str] | None:
    """(indent width, marker as written) when a line of section text is a list item."""
    match = _LIST_ITEM.match(line)
    return (len(match.group("indent")), match.group("marker")) if match else None


def split_sentences(text: str, language: Language | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence in `text`, by the language's sentence ends (Romanian unless told)."""
    out, pos = [], 0
    for piece in (language or default_language()).sentence_end.split(text):
        at = text.index(piece, pos)
        pos = at + len(piece)
        stripped = piece.strip()
        if stripped:
            begin = text.index(stripped, at)
            out.append((begin, begin + len(stripped)))
    return out


@dataclass(frozen=True)
class Chunk:
    section: int      # index into the section list
    text: str         # slice of the section text
    start: int        # offset in the section text
    context: str      # heading path (and list intro) prepended for the model

    @property
    def embed_text(self) -> str:
        return f"{self.context}\n{self.text}"


@dataclass(frozen=True)
class Unit:
    """A sentence, a list item or a table row: the smallest thing an answer quotes."""

    section: int
    start: int         # offset of the unit's text in the section text
    end: int
    line: int          # line of the section text it sits on
    kind: str          # "sentence" | "item" | "row"
    intro: int | None  # for list items: the unit that introduces the list (or the parent item)
    marker: str = ""   # list marker as written ("- ", "1. "), on an item's first unit only
    depth: int = 0     # list nesting

    def text_in(self, section_text: str) -> str:
        return section_text[self.start:self.end]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def splitter(chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP) -> RecursiveCharacterTextSplitter:
    # Imported here: only building needs it, and it costs ~0.35 s of a cold `ask`.
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=chunk_overlap, separators=SEPARATORS,
        keep_separator="end", add_start_index=True, strip_whitespace=True,
    )


def heading_context(page: Page, section: Section) -> str:
    return cite(page.title, section.path) if len(section.path) < 2 else " › ".join((page.title, *section.path))


def split_units(section: Section, section_index: int, language: Language | None = None) -> list[Unit]:
    """Sentences of prose lines, list items (long ones by sentence) and table rows, in page order.

    `intro` links an item to the sentence just before its list, or a nested item to
    its parent item, so a quote of an item can bring what it answers to.
    """
    units: list[Unit] = []
    last_prose: int | None = None
    parents: dict[int, int] = {}   # indent width -> unit index of the latest item at that depth
    offset = 0
    for number, line in enumerate(section.text.split("\n")):
        line_start, offset = offset, offset + len(line) + 1
        if not line.strip():
            continue
        found = list_marker(line)
        if found:
            indent, marker = found
            body_at = indent + len(marker)
            depth = indent // 2
            for width in [w for w in parents if w >= indent]:
                del parents[width]
            intro = parents[max(parents)] if parents else last_prose
            body = line[body_at:]
            pieces = split_sentences(body, language) if len(body) > LONG_ITEM_CHARS else [(0, len(body))]
            first = len(units)
            for n, (a, b) in enumerate(pieces):
                units.append(Unit(section_index, line_start + body_at + a, line_start + body_at + b, number,
                                  "item", intro if n == 0 else first, marker if n == 0 else "", depth))
            parents[indent] = first
            continue
        if line.startswith("  ") and parents:   # continuation paragraph of the last item
            for a, b in split_sentences(line, language):
                units.append(Unit(section_index, line_start + a, line_start + b, number, "sentence",
                                  parents[max(parents)], "", 0))
            continue
        parents.clear()
        if ROW_SEPARATOR in line and ": " in line:
            units.append(Unit(section_index, line_start, line_start + len(line), number, "row", None))
        else:
            for a, b in split_sentences(line, language):
                units.append(Unit(section_index, line_start + a, line_start + b, number, "sentence", None))
        last_prose = len(units) - 1
    return units


def chunk_sections(pages: list[Page], chunk_size: int = CHUNK_SIZE,
                   chunk_overlap: int = CHUNK_OVERLAP,
                   language: Language | None = None) -> tuple[list[Section], list[Chunk], list[Unit]]:
    """All sections, their chunks (never crossing a section) and their units."""
    split = splitter(chunk_size, chunk_overlap)
    sections: list[Section] = []
    chunks: list[Chunk] = []
    units: list[Unit] = []
    for page in pages:
        for section in page.sections:
            index = len(sections)
            sections.append(section)
            section_units = split_units(section, index, language)
            base = len(units)
            units.extend(
                Unit(u.section, u.start, u.end, u.line, u.kind, None if u.intro is None else base + u.intro,
                     u.marker, u.depth)
                for u in section_units
            )
            context = heading_context(page, section)
            for doc in split.create_documents([section.text]):
                start = int(doc.metadata["start_index"])
                intro = _list_intro_before(section, section_units, start)
                chunks.append(Chunk(index, doc.page_content, start, f"{context}\n{intro}" if intro else context))
    return sections, chunks, units


def _list_intro_before(section: Section, section_units: list[Unit], start: int) -> str | None:
    """If a chunk starts inside a list whose intro lies before it, return that intro.

    Keeps a long list's continuation tied to the sentence that introduces it.
    """
    first = next((u for u in section_units if u.start >= start), None)
    if first is None or first.kind != "item" or first.intro is None:
        return None
    intro = section_units[first.intro]
    return _shortened(intro.text_in(section.text), INTRO_CHARS) if intro.start < start else None


def _shortened(text: str, limit: int) -> str:
    """`text`, or its first words within `limit` characters and an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[:cut if cut > 0 else limit].rstrip(" ,;:") + " …"
