"""Markdown policy pages -> sections of plain, quotable text.

Real policy pages are written for a browser, not for us: hard-wrapped lines,
`**Label:** text` paragraphs, bold-only lines used as sub-headings, tables,
links, HTML comments, markup inside headings. They are read with a real
CommonMark parser (markdown-it-py, already installed through Streamlit's
`rich`) so that emphasis, links, lists, tables and HTML are what the spec says
they are, and only the one convention CommonMark has no notion of is ours:
a short bold-only paragraph is a sub-heading (`is_heading_like`).

A section's `text` is what a reader sees: one line per block (paragraph, list
item, table row), markup removed, hard wraps joined. Every quote is a slice of
it, so the words a user is shown are the page's words, in the page's order.

Pages are untrusted input (docs/hardening.md): a page, a line, a heading or the
front matter over its limit is a CorpusError naming the file and the line (a 200 KB
line or a 100 KB heading kept a build running for minutes: the heading is embedded
with every chunk of its section); the front matter is read with YAML's safe loader
and a bound on what its aliases expand to (a "billion laughs" `title` is a few lines).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .errors import CorpusError
from .text import fold_key, normalize_diacritics, sanitize, slugify

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
# "[^<>]" and not "[^>]": on a run of "<" with no ">" each try stops at the next "<" (linear; the
# old pattern scanned to the end of the line from every "<", 0.13 s on one 10,000-character line).
_HTML_TAG = re.compile(r"<[^<>]*>")
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]{1,20}\]:?")
_HTML_COMMENT = re.compile(r"<!--.*?(-->|$)", re.S)
_HTML_HEADING = re.compile(r"^\s*<h([1-6])\b[^>]*>(.*?)</h\1\s*>\s*$", re.I)
# Tags of inline elements: removed without a space, so "<b>esențiale</b>." reads "esențiale.".
_HTML_INLINE_TAG = re.compile(r"</?(a|abbr|b|bdi|bdo|cite|code|data|dfn|em|i|kbd|mark|q|s|samp|small|span|strong|"
                              r"sub|sup|time|u|var)\b[^<>]*>", re.I)
# A version or date line ("Versiunea 1.1 · în vigoare de la 02.10.2026", "Ultima actualizare: mai 2024")
# is bold on many pages but introduces nothing: it is text, not a heading.
_DATE_OR_VERSION = re.compile(
    r"\b(versiun\w*|version|ultima actualizare|actualizat\w*|in vigoare|data intrarii|last updated)\b"
    r"|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{4}[./-]\d{1,2}[./-]\d{1,2}\b"
)
MAX_HEADING_WORDS = 20      # "Acordul utilizatorului ... întrebările adresate." (16 words) is a real heading
MAX_CAPS_HEADING_WORDS = 12     # "DREPTURILE DUMNEAVOASTRĂ": a line in capitals is a heading when short
MAX_SENTENCE_HEADING_WORDS = 8   # a bold line ending in "." is a label ("Activitatea în aplicație.") only when short

# Limits, each far above every real page (../shared/policies and corpus/: largest page 21 KB,
# longest line 825 characters, longest heading 129, front matter under 10 lines).
MAX_PAGE_BYTES = 512_000
MAX_LINE_CHARS = 10_000
MAX_HEADING_CHARS = 500
MAX_FRONT_MATTER_CHARS = 20_000
MAX_YAML_NODES = 5_000   # nodes of the front matter once every alias is expanded

LIST_BULLET = "- "
# Raised whenever a rule here changes what a page's sections are: an index read under other rules is stale.
# 2: a "**Label.** text" paragraph after a bold label's body returns to the parent section
# 3: "<h1>"-"<h6>" lines of raw HTML blocks are headings; inline tags there leave no space
# 4: "1. **Title**" alone in its list and a short one-line paragraph in capitals are headings
READER_VERSION = 4
# Characters some pages write as paragraph bullets ("• text", "– text") instead of markdown lists.
TEXT_BULLETS = ("•", "–", "—", "▪", "◦", "·", "‣")


def cite(page_title: str, path: tuple[str, ...] | list[str]) -> str:
    """The one citation format: 'Page › Section' (just the page when the heading repeats its title)."""
    title = path[-1] if path else page_title
    return page_title if fold_key(title) == fold_key(page_title) else f"{page_title} › {title}"


@dataclass(frozen=True)
class Section:
    """One titled stretch of a page: the unit of citation, from parsing to the index to the answer."""

    source: str            # file name inside the corpus, e.g. "utilizarea-datelor.md"
    page_title: str        # front-matter title
    path: tuple[str, ...]  # heading titles from the outermost to this one
    anchor: str            # slug, unique within the page
    text: str              # plain text, one block a line; list items "- …" (nested: indented)
    line: int = 0          # 1-based line of the page where the section's body starts
    url: str = ""          # the page's address (front matter `url:`), "" when unknown
    topics: tuple[str, ...] = ()  # privacy topics it covers (set at build time)

    @property
    def title(self) -> str:
        """Innermost heading: what a citation names."""
        return self.path[-1]

    @property
    def citation(self) -> str:
        return cite(self.page_title, self.path)

    @property
    def id(self) -> str:
        return f"{self.source}#{self.anchor}"

    @property
    def link(self) -> str:
        """`url#anchor` when the page declares its address, else ""."""
        return f"{self.url}#{self.anchor}" if self.url else ""

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "page_title": self.page_title, "path": list(self.path),
                "anchor": self.anchor, "text": self.text, "line": self.line, "url": self.url,
                "topics": list(self.topics)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Section:
        return cls(str(data["source"]), str(data["page_title"]), tuple(str(p) for p in data["path"]),
                   str(data["anchor"]), str(data["text"]), int(data.get("line", 0)), str(data.get("url", "")),
                   tuple(str(t) for t in data.get("topics", ())))


@dataclass(frozen=True)
class Page:
    source: str
    title: str
    raw: str
    sections: tuple[Section, ...] = field(default_factory=tuple)
    url: str = ""
    contact: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def parse_front_matter(raw: str, source: str) -> tuple[dict[str, Any], str, int]:
    """(front-matter mapping, body text, number of lines before the body)."""
    raw = raw.removeprefix("\ufeff")
    match = _FRONT_MATTER.match(raw)
    if not match:
        return {}, raw, 0
    if len(match.group(1)) > MAX_FRONT_MATTER_CHARS:
        raise CorpusError(f"{source}, linia 1: antetul YAML (front matter) este prea lung "
                          f"({len(match.group(1))} caractere; cel mult {MAX_FRONT_MATTER_CHARS})")
    try:
        meta = _safe_yaml(match.group(1), source) or {}
    except yaml.YAMLError as exc:
        raise CorpusError(f"{source}: antetul YAML (front matter) nu poate fi citit: "
                          f"{exc.__class__.__name__}") from None
    except RecursionError:
        raise CorpusError(f"{source}: antetul YAML (front matter) este imbricat prea adânc") from None
    if not isinstance(meta, dict):
        raise CorpusError(f"{source}: antetul YAML (front matter) trebuie să fie un dicționar cu `title:`")
    return meta, raw[match.end():], raw[:match.end()].count("\n")


def _safe_yaml(text: str, source: str) -> Any:
    """`yaml.safe_load`, refusing a document whose aliases expand past MAX_YAML_NODES.

    The safe loader builds no objects but still expands aliases: nine lines of
    `&a [*b, *b, …]` make a `title` of 10^9 strings, and `str()` of it never ends.
    The document is composed first (linear in its text), its expanded size counted
    over the node graph (memoised, so shared nodes cost once), then constructed.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        sizes: dict[int, int] = {}

        def size(n: yaml.Node, open_nodes: frozenset[int]) -> int:
            if id(n) in sizes:
                return sizes[id(n)]
            if id(n) in open_nodes:   # an alias inside its own anchor: infinitely deep
                return MAX_YAML_NODES + 1
            total = 1
            if isinstance(n, yaml.SequenceNode):
                for child in n.value:
                    total += size(child, open_nodes | {id(n)})
                    if total > MAX_YAML_NODES:
                        break
            elif isinstance(n, yaml.MappingNode):
                for key, value in n.value:
                    total += size(key, open_nodes | {id(n)}) + size(value, open_nodes | {id(n)})
                    if total > MAX_YAML_NODES:
                        break
            sizes[id(n)] = total
            return total

        if size(node, frozenset()) > MAX_YAML_NODES:
            raise CorpusError(f"{source}: antetul YAML (front matter) este prea mare după expandarea "
                              f"aliasurilor (cel mult {MAX_YAML_NODES} de noduri)")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def check_limits(raw: str, source: str) -> None:
    """A CorpusError naming the file and line when the page, a line or a heading is over its limit."""
    size = len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_PAGE_BYTES:
        raise CorpusError(f"{source}: pagina este prea mare ({size} octeți; cel mult {MAX_PAGE_BYTES})")
    if len(raw) <= MAX_HEADING_CHARS:
        return
    for number, line in enumerate(raw.split("\n"), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise CorpusError(f"{source}, linia {number}: rând prea lung ({len(line)} caractere; "
                              f"cel mult {MAX_LINE_CHARS}). O imagine inclusă ca text (base64)? Puneți-o într-un "
                              "fișier separat.")


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def inline_text(token: Token) -> str:
    """Plain text of an inline token: markup dropped, soft/hard breaks become spaces."""
    out: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(child.content or "")
        elif child.type == "html_inline":
            continue  # tags and comments carry no words of their own
    return clean("".join(out))


def _without_comments(text: str) -> str:
    """Drop closed "<!-- … -->" comments; an unclosed one stays text (nothing a reader wrote is lost).

    By hand, not a regex: a lazy "<!--.*?-->" rescans to the end of the line from every unclosed
    "<!--", quadratic on a hostile page; `str.find` walks the line once.
    """
    out, start = [], 0
    while (opened := text.find("<!--", start)) >= 0 and (closed := text.find("-->", opened + 4)) >= 0:
        out += [text[start:opened], " "]
        start = closed + 3
    return "".join(out) + text[start:] if out else text


def clean(text: str) -> str:
    """Collapse whitespace, drop stray tags, footnote marks and control characters: what a reader sees."""
    text = _FOOTNOTE_REF.sub("", _HTML_TAG.sub(" ", _without_comments(sanitize(text))))
    return " ".join(normalize_diacritics(text).split())


def _bold_lead(token: Token) -> tuple[str, str] | None:
    """If an inline token starts with a line that is all bold: (that bold text, the rest)."""
    children = [c for c in token.children or [] if not (c.type == "text" and not c.content.strip())]
    if not children or children[0].type != "strong_open":
        return None
    depth, end = 0, None
    for n, child in enumerate(children):
        depth += {"strong_open": 1, "strong_close": -1}.get(child.type, 0)
        if depth == 0:
            end = n
            break
    if end is None:
        return None
    rest = children[end + 1:]
    if rest and rest[0].type not in ("softbreak", "hardbreak"):
        return None  # "**Label:** text" on one line: text, not a heading
    bold = Token("inline", "", 0, children=children[1:end])
    tail = Token("inline", "", 0, children=rest[1:])
    return inline_text(bold), inline_text(tail)


def is_heading_like(text: str) -> bool:
    """Does a bold-only line read as a sub-heading rather than an emphasised sentence or a date?"""
    words = text.split()
    if not words or len(words) > MAX_HEADING_WORDS or len(text) > 200:
        return False
    if text.endswith((".", ";", ",")) and len(words) > MAX_SENTENCE_HEADING_WORDS:
        return False
    folded = fold_key(text)
    return not _DATE_OR_VERSION.search(folded)


@dataclass
class _Block:
    kind: str     # "heading" | "bold" | "text"
    text: str
    line: int     # 0-based line in the body
    level: int = 0
    label: bool = False   # a "**Label.** text" paragraph: text that opens with a bold label


def _table_rows(tokens: list[Token], start: int) -> tuple[list[str], int]:
    """Rows of a table as 'Header: cell · Header: cell' lines; returns (rows, index after table)."""
    header: list[str] = []
    rows: list[str] = []
    row: list[str] = []
    in_head = False
    i = start
    while i < len(tokens) and tokens[i].type != "table_close":
        t = tokens[i]
        if t.type == "thead_open":
            in_head = True
        elif t.type == "thead_close":
            in_head = False
        elif t.type == "tr_open":
            row = []
        elif t.type == "inline":
            row.append(inline_text(t))
        elif t.type == "tr_close":
            if in_head:
                header = row
            elif any(row):
                padded = header + [""] * len(row)  # at least as long as the row: zip stops at the row's end
                cells = [f"{h}: {c}" if h and c else c for h, c in zip(padded, row, strict=False) if c]
                rows.append(" · ".join(cells))
        i += 1
    return rows, i + 1


def _opens_bold(token: Token) -> bool:
    children = [c for c in token.children or [] if not (c.type == "text" and not c.content.strip())]
    return bool(children) and children[0].type == "strong_open"


def _numbered_heading(tokens: list[Token], i: int) -> str | None:
    """The title of a numbered heading written as a list of one bold item ("1. **Cine suntem**").

    Pages converted from word processors number their sections this way: each "N. **Title**"
    is a list of its own, followed by paragraphs. A longer list, or an item with text beside
    the bold, stays a list item.
    """
    if i < 3 or i + 3 >= len(tokens):
        return None
    opened, item, close_item, close_list = tokens[i - 3], tokens[i - 2], tokens[i + 2], tokens[i + 3]
    if opened.type != "ordered_list_open" or item.type != "list_item_open" or \
            close_item.type != "list_item_close" or close_list.type != "ordered_list_close":
        return None
    lead = _bold_lead(tokens[i])
    if not lead or lead[1] or not is_heading_like(lead[0]):
        return None
    return f"{item.info}{item.markup} {lead[0]}"


def _is_caps_heading(token: Token, text: str) -> bool:
    """A one-line paragraph in capitals, of a few words and no closing punctuation, reads as a heading."""
    if not token.map or token.map[1] - token.map[0] != 1 or text.endswith((".", ",", ";", ":")):
        return False
    words = text.split()
    letters = [c for c in text if c.isalpha()]
    long_words = [w for w in words if sum(c.isalpha() for c in w) >= 3]
    return (len(long_words) >= 2 and len(words) <= MAX_CAPS_HEADING_WORDS and len(letters) >= 6
            and all(c.isupper() for c in letters) and is_heading_like(text))


def _blocks(body: str, source: str = "", offset: int = 0) -> Iterator[_Block]:
    """Headings, bold-only paragraphs and text lines, in page order (`offset`: front-matter lines, for errors)."""
    tokens = _parser().parse(body)
    list_depth = 0
    item_markers: list[str] = []
    pending_marker: str | None = None
    item_indent = 0
    i = 0
    while i < len(tokens):
        t = tokens[i]
        line = t.map[0] if t.map else 0
        if t.type == "heading_open":
            chars = len(tokens[i + 1].content)
            if chars > MAX_HEADING_CHARS:
                raise CorpusError(f"{source}, linia {offset + line + 1}: titlu prea lung ({chars} caractere; "
                                  f"cel mult {MAX_HEADING_CHARS})")
            yield _Block("heading", inline_text(tokens[i + 1]), line, int(t.tag[1:]))
            i += 3
            continue
        if t.type in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif t.type in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif t.type == "list_item_open":
            pending_marker = f"{t.info}{t.markup} " if t.info else LIST_BULLET
            item_indent = list_depth - 1
            item_markers.append(pending_marker)
        elif t.type == "list_item_close":
            item_markers.pop()
            pending_marker = None
        elif t.type == "table_open":
            rows, i = _table_rows(tokens, i)
            for row in rows:
                yield _Block("text", row, line)
            continue
        elif t.type == "inline":
            text = inline_text(t)
            numbered = _numbered_heading(tokens, i) if pending_marker is not None and list_depth == 1 else None
            if numbered:                     # "1. **Cine suntem**" alone in its list: a numbered heading
                yield _Block("bold", numbered, line)
                pending_marker = None
            elif pending_marker is not None:   # first paragraph of a list item: the item line
                yield _Block("text", "  " * item_indent + pending_marker + text, line)
                pending_marker = None
            elif list_depth:                 # a later paragraph of the open item: its continuation
                if text:
                    yield _Block("text", "  " * max(0, len(item_markers) - 1) + "  " + text, line)
            else:
                lead = _bold_lead(t)
                if lead is None and _is_caps_heading(t, text):   # "DREPTURILE DUMNEAVOASTRĂ" on its own line
                    yield _Block("bold", text, line)
                elif lead and is_heading_like(lead[0]):
                    yield _Block("bold", lead[0], line)
                    if lead[1]:
                        yield _Block("text", lead[1], line + 1)
                elif text:
                    yield _Block("text", text, line, label=lead is None and _opens_bold(t))
        elif t.type == "html_block":
            # Pages converted from HTML keep raw blocks: "<h2>Cookie-uri</h2>" is a heading, and the
            # words of inline elements ("<b>esențiale</b>.") join their neighbours without a space.
            content = _HTML_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), t.content)  # lines kept
            for n, raw_line in enumerate(content.splitlines()):
                heading = _HTML_HEADING.match(raw_line)
                if heading:
                    title = clean(_HTML_INLINE_TAG.sub("", heading.group(2)))
                    if title and len(title) <= MAX_HEADING_CHARS:
                        yield _Block("heading", title, line + n, int(heading.group(1)))
                        continue
                text = clean(_HTML_INLINE_TAG.sub("", raw_line))
                if text:
                    yield _Block("text", text, line + n)
        elif t.type in ("fence", "code_block"):
            for n, raw_line in enumerate(t.content.splitlines()):
                text = clean(raw_line)
                if text:
                    yield _Block("text", text, line + n)
        i += 1


def parse_page(raw: str, source: str) -> Page:
    """Split one markdown page into sections (pure: text in, sections out).

    Raises CorpusError, naming `source` and the line, for a page over the limits above.
    """
    check_limits(raw, source)
    meta, body, offset = parse_front_matter(raw, source)
    title = clean(str(meta.get("title") or "")) or Path(source).stem.replace("-", " ").capitalize()
    url = str(meta.get("url") or "").strip()
    contact = str(meta.get("contact") or "").strip()

    blocks = list(_blocks(body, source, offset))
    # A bold line is a heading only when text follows it (a bold line closing a section is emphasis).
    for n, block in enumerate(blocks):
        if block.kind == "bold" and (n + 1 == len(blocks) or blocks[n + 1].kind == "heading"):
            block.kind = "text"

    sections: list[Section] = []
    used_anchors: dict[str, int] = {}
    stack: list[tuple[int, str, bool]] = []   # (level, title, opened by a bold line) of the open headings
    heading_level = 0                   # level of the last markdown heading (bold lines nest under it)
    lines: list[str] = []
    first_line = offset
    previous_kind = ""
    resumed: Section | None = None      # a parent section taken back up after a bold label's body

    def close() -> None:
        nonlocal resumed
        text = "\n".join(lines)
        path = tuple(t for _, t, _ in stack) or (title,)
        if resumed is not None and resumed.path == path:   # the parent's own anchor and first line
            sections.append(replace(resumed, text=text))
            resumed = None
            return
        if not text.strip():
            return
        anchor = slugify(path[-1])
        count = used_anchors.get(anchor, 0)
        used_anchors[anchor] = count + 1
        if count:
            anchor = f"{anchor}-{count + 1}"
        sections.append(Section(source, title, path, anchor, text, first_line + 1, url))

    for block in blocks:
        if (block.kind == "text" and block.label and lines and stack and stack[-1][2]
                and stack[-1][1].endswith((".", ":"))):
            # A "**Label.** text" paragraph after the body of a bold label ending in "." or ":" is
            # that label's sibling: it goes back to the parent's section. osubb-app's section 2 runs
            # "**Date de contact.** …", "**Activitatea în aplicație.**" over a list, "**Date tehnice.**
            # …" and "**Ce nu prelucrăm.** … nu vinde sau închiriază date nimănui": the last two were
            # cited under "Activitatea în aplicație.", and a question on selling data led elsewhere.
            close()
            stack.pop()
            path = tuple(t for _, t, _ in stack) or (title,)
            if len(sections) >= 2 and sections[-2].path == path:
                resumed = sections.pop(-2)
                lines = [resumed.text]
            else:
                lines = []
                first_line = offset + block.line
        if block.kind == "text":
            if not lines:
                first_line = offset + block.line
            lines.append(block.text)
            previous_kind = "text"
            continue
        close()
        lines = []
        if block.kind == "heading":
            level = heading_level = block.level
        elif previous_kind == "bold":       # bold right under a bold line: nest, keep both in the path
            level = stack[-1][0] + 1 if stack else heading_level + 1
        else:
            level = heading_level + 1
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, block.text or "Secțiune", block.kind == "bold"))
        first_line = offset + block.line + 1
        previous_kind = block.kind
    close()
    return Page(source, title, raw, tuple(sections), url, contact, meta)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The pages of a corpus: every `*.md` file except READMEs, sorted (reproducible builds)."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"Dosarul cu pagini nu există: {corpus_dir}")
    return sorted(p for p in corpus_dir.rglob("*.md") if p.is_file() and p.name.lower() != "readme.md")


def load_corpus(corpus_dir: Path) -> list[Page]:
    """Read every page under `corpus_dir`."""
    files = corpus_files(corpus_dir)
    if not files:
        raise CorpusError(f"Nu am găsit nicio pagină .md în {corpus_dir}")
    pages = []
    for path in files:
        source = path.relative_to(corpus_dir).as_posix()
        try:
            if path.stat().st_size > MAX_PAGE_BYTES:   # refused before it is read
                raise CorpusError(f"{source}: pagina este prea mare ({path.stat().st_size} octeți; "
                                  f"cel mult {MAX_PAGE_BYTES})")
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CorpusError(f"{source}: fișierul nu este text UTF-8") from None
        except OSError as exc:
            raise CorpusError(f"{source}: pagina nu poate fi citită ({exc.strerror})") from None
        page = parse_page(raw, source)
        if page.sections:
            pages.append(page)
    if not pages:
        raise CorpusError(f"Paginile din {corpus_dir} nu conțin text")
    return pages
