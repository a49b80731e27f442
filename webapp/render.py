"""Safe rendering of policy text and user text.

Pages and questions are data, never markup: every string from them goes
through `html.escape` before it is wrapped in our own tags, and strings that
Streamlit would parse as Markdown (labels) go through `md_escape`. That way a
page containing `<script>` or `**x**` is shown literally, as written.
"""
from __future__ import annotations

import html
import re

LIST_MARKERS = ("- ", "* ", "+ ")
GAP = "[…]"  # shown between quoted lines that are not adjacent in the page

# Every ASCII punctuation character can be backslash-escaped in CommonMark.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'])")

CSS = """
<style>
.pp-quote { border-left: 4px solid #3b7dd8; background: rgba(59, 125, 216, .07);
            padding: .45rem .9rem; margin: .1rem 0 .35rem; border-radius: 0 .5rem .5rem 0; }
.pp-quote p, .pp-section p { margin: .25rem 0; line-height: 1.55; }
.pp-quote ul, .pp-section ul { margin: .15rem 0 .25rem 1.25rem; padding: 0; }
.pp-quote li, .pp-section li { margin: .1rem 0; line-height: 1.5; }
.pp-gap { opacity: .55; }
.pp-section { font-size: .95rem; }
.pp-section mark { background: rgba(255, 200, 0, .45); color: inherit; padding: 0 .1em; border-radius: .2em; }
.pp-cite { font-size: .85rem; opacity: .75; margin: .1rem 0 .1rem; }
</style>
"""


def md_escape(text: str) -> str:
    """Text for a Markdown-rendered label (expander, button): shown literally."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _is_item(line: str) -> bool:
    return line.startswith(LIST_MARKERS)


def _blocks(lines: list[tuple[str, str]]) -> str:
    """(kind, inner_html) lines -> paragraphs and lists; kind is 'p', 'li', 'gap' or 'blank'."""
    out, items, para = [], [], []

    def flush() -> None:
        if para:
            out.append("<p>" + "<br>".join(para) + "</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for kind, inner in lines:
        if kind == "li":
            if para:
                flush()
            items.append(inner)
        elif kind == "p":
            if items:
                flush()
            para.append(inner)
        else:
            flush()
            if kind == "gap":
                out.append(f'<p class="pp-gap">{inner}</p>')
    flush()
    return "".join(out)


def quote_html(quote_text: str, gaps_after: set[int] | None = None) -> str:
    """A verbatim quote as a blockquote; list items keep being list items."""
    lines = []
    for n, line in enumerate(quote_text.splitlines()):
        if _is_item(line):
            lines.append(("li", html.escape(line[2:])))
        else:
            lines.append(("p", html.escape(line)))
        if gaps_after and n in gaps_after:
            lines.append(("gap", GAP))
    return f'<blockquote class="pp-quote">{_blocks(lines)}</blockquote>'


def gaps_between(section_text: str, spans: list[tuple[int, int]]) -> set[int]:
    """Indexes of quoted lines followed by skipped page text (not just whitespace)."""
    gaps = set()
    for n in range(len(spans) - 1):
        between = section_text[spans[n][1]:spans[n + 1][0]]
        if between.strip():
            gaps.add(n)
    return gaps


def _marked(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    """Escaped text[start:end] with the parts inside any span wrapped in <mark>."""
    cuts = {start, end}
    for a, b in spans:
        if a < end and b > start:
            cuts.update({max(a, start), min(b, end)})
    points = sorted(cuts)
    out = []
    for a, b in zip(points, points[1:]):
        piece = html.escape(text[a:b])
        inside = any(sa <= a and b <= sb for sa, sb in spans)
        out.append(f"<mark>{piece}</mark>" if inside and piece.strip() else piece)
    return "".join(out)


def section_html(text: str, spans: list[tuple[int, int]]) -> str:
    """A whole section with the quoted lines highlighted, offsets as the library gives them."""
    lines, offset = [], 0
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        start, end = offset, offset + len(line)
        offset += len(raw)
        if not line.strip():
            lines.append(("blank", ""))
        elif _is_item(line):
            lines.append(("li", _marked(text, start + 2, end, spans)))
        else:
            lines.append(("p", _marked(text, start, end, spans)))
    return f'<div class="pp-section">{_blocks(lines)}</div>'


def citation_html(citation: str) -> str:
    return f'<div class="pp-cite">{html.escape(citation)}</div>'
