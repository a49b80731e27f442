"""Markdown policy pages -> sections with exact source offsets.

Written by hand rather than with langchain's MarkdownHeaderTextSplitter because
(1) these pages use bold-only lines (`**Pentru a comunica cu dvs.**`) as
sub-headings, which no markdown splitter treats as headings, and (2) quotes must
be verbatim, so every section keeps its exact text and its offset in the file;
the header splitter re-joins lines and loses both. Long sections are then cut
by langchain's RecursiveCharacterTextSplitter in `chunking.py`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import CorpusError
from .text import slugify

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_ATX_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_BOLD_LINE = re.compile(r"^(?:\*\*|__)(?=\S)(.+?)(?<=\S)(?:\*\*|__)[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


@dataclass(frozen=True)
class Section:
    """One titled stretch of a page: the unit of citation."""

    source: str            # file name inside the corpus, e.g. "utilizarea-datelor.md"
    page_title: str        # front-matter title
    path: tuple[str, ...]  # heading titles from the outermost to this one
    anchor: str            # slug, unique within the page
    text: str              # exact body text (no heading line), stripped of blank edges
    start: int             # offset of `text` in the raw file, so raw[start:start+len(text)] == text

    @property
    def title(self) -> str:
        """Innermost heading: what a citation names."""
        return self.path[-1]

    @property
    def citation(self) -> str:
        return f"{self.page_title} › {self.title}"

    @property
    def id(self) -> str:
        return f"{self.source}#{self.anchor}"


@dataclass(frozen=True)
class Page:
    source: str
    title: str
    raw: str
    sections: tuple[Section, ...] = field(default_factory=tuple)


def parse_front_matter(raw: str, source: str) -> tuple[dict, int]:
    """Return (front-matter mapping, offset where the body starts)."""
    match = _FRONT_MATTER.match(raw)
    if not match:
        return {}, 0
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise CorpusError(f"{source}: antetul YAML (front matter) nu poate fi citit: {exc.__class__.__name__}") from None
    if not isinstance(meta, dict):
        raise CorpusError(f"{source}: antetul YAML (front matter) trebuie să fie un dicționar cu `title:`")
    return meta, match.end()


def _heading(line: str, current_level: int) -> tuple[int, str] | None:
    """(level, title) if the line is a heading; bold-only lines nest one level below."""
    atx = _ATX_HEADING.match(line)
    if atx:
        return len(atx.group(1)), atx.group(2).strip()
    bold = _BOLD_LINE.match(line.strip())
    if bold and line.strip() == line.rstrip():
        return current_level + 1, bold.group(1).strip()
    return None


def parse_page(raw: str, source: str) -> Page:
    """Split one markdown page into sections (pure: text in, sections out)."""
    meta, body_start = parse_front_matter(raw, source)
    title = str(meta.get("title") or "").strip() or Path(source).stem.replace("-", " ").capitalize()

    sections: list[Section] = []
    used_anchors: dict[str, int] = {}
    stack: list[tuple[int, str]] = []   # (level, title) of the open headings
    heading_level = 0                   # level of the last ATX heading (bold nests under it)
    in_fence = False
    current_path: tuple[str, ...] = (title,)
    body_from = body_start

    def close(end: int) -> None:
        segment = raw[body_from:end]
        stripped = segment.strip()
        if not stripped:
            return
        start = body_from + segment.index(stripped)
        anchor = slugify(current_path[-1])
        count = used_anchors.get(anchor, 0)
        used_anchors[anchor] = count + 1
        if count:
            anchor = f"{anchor}-{count + 1}"
        sections.append(Section(source, title, current_path, anchor, stripped, start))

    offset = body_start
    for line in raw[body_start:].splitlines(keepends=True):
        line_start, offset = offset, offset + len(line)
        content = line.rstrip("\r\n")
        if _FENCE.match(content):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        found = _heading(content, heading_level)
        if not found:
            continue
        level, heading = found
        close(line_start)
        if _ATX_HEADING.match(content):
            heading_level = level
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        current_path = tuple(t for _, t in stack)
        body_from = offset
    close(len(raw))
    return Page(source, title, raw, tuple(sections))


def load_corpus(corpus_dir: Path) -> list[Page]:
    """Read every `*.md` page under `corpus_dir` (sorted, so builds are reproducible)."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"Dosarul cu pagini nu există: {corpus_dir}")
    files = sorted(p for p in corpus_dir.rglob("*.md") if p.is_file() and p.name.lower() != "readme.md")
    if not files:
        raise CorpusError(f"Nu am găsit nicio pagină .md în {corpus_dir}")
    pages = []
    for path in files:
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CorpusError(f"{path.name}: fișierul nu este text UTF-8") from None
        page = parse_page(raw, path.relative_to(corpus_dir).as_posix())
        if page.sections:
            pages.append(page)
    if not pages:
        raise CorpusError(f"Paginile din {corpus_dir} nu conțin text")
    return pages
