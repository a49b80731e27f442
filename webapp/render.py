"""Safe rendering of policy text and user text.

Pages and questions are data, never markup: every string from them goes
through `html.escape` before it is wrapped in our own tags, and strings that
Streamlit would parse as Markdown (labels) go through `md_escape`. That way a
page containing `<script>` or `**x**` is shown literally, as written.

Section text comes from the library as plain lines (paragraphs, `- item` /
`1. item` list lines indented two spaces per level, table rows); list lines are
recognised with the library's own `list_marker`, so the app and the quotes agree
on what a list item is.
"""
from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from retrieval.answer import GAP
from retrieval.chunking import list_marker
from retrieval.lexical import terms
from retrieval.text import content_words, fold

# Every ASCII punctuation character can be backslash-escaped in CommonMark.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'])")
_TOKEN = re.compile(r"\w+(?:-\w+)*")  # "e-mailul" is one word
_ORDERED = re.compile(r"(\d+)[.)]")

CSS = """
<style>
.pp-quote { border-left: 4px solid #3b7dd8; background: rgba(59, 125, 216, .07);
            padding: .45rem .9rem; margin: .1rem 0 .35rem; border-radius: 0 .5rem .5rem 0; }
.pp-lead .pp-quote { border-left-width: 5px; background: rgba(59, 125, 216, .11); font-size: 1.05rem;
                     padding: .6rem 1rem; }
.pp-quote p, .pp-section p { margin: .25rem 0; line-height: 1.55; }
.pp-quote ul, .pp-section ul, .pp-quote ol, .pp-section ol { margin: .15rem 0 .25rem 1.25rem; padding: 0; }
.pp-quote li, .pp-section li { margin: .1rem 0; line-height: 1.5; }
.pp-quote strong { font-weight: 650; }
.pp-cont { margin: .2rem 0; }
.pp-gap { opacity: .55; }
.pp-section { font-size: .95rem; }
.pp-section mark { background: rgba(255, 200, 0, .45); color: inherit; padding: 0 .1em; border-radius: .2em; }
.pp-cite { font-size: .85rem; opacity: .8; margin: .1rem 0 .1rem; }
.pp-cite a.pp-ext::after { content: " ↗"; }
.pp-details summary { cursor: pointer; font-size: .85rem; opacity: .8; margin: .1rem 0 .3rem; }
.pp-details .pp-section { padding: .2rem 0 .4rem .9rem; }
[data-testid="stChatMessage"] { scroll-margin-top: 4.5rem; }
/* Accessibility: a visually hidden live region (webapp/a11y.py); text at least 4.5:1 against white
   (Streamlit's captions are #31333F at 60 % opacity: 2.9:1 measured by axe). */
.pp-sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
              clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stWidgetLabel"] [data-testid="stCaptionContainer"] { color: #50525c; opacity: 1; }
.pp-cite, .pp-details summary { opacity: 1; color: #4b4e58; }
.pp-cite a { color: #1f5fae; }
.pp-gap { opacity: 1; color: #5c5f69; }
/* The staff scores table wraps to the width it has, phone included. */
.pp-scores { width: 100%; border-collapse: collapse; font-size: .85rem; margin: .3rem 0; }
.pp-scores caption { text-align: left; font-size: .8rem; color: #50525c; padding-bottom: .2rem; }
.pp-scores th, .pp-scores td { border-bottom: 1px solid #d9dbe1; padding: .25rem .4rem; text-align: left;
                               vertical-align: top; overflow-wrap: anywhere; }
.pp-scores th { font-weight: 600; }
.pp-scores .pp-num { text-align: right; white-space: nowrap; }
@media (max-width: 640px) { .pp-scores .pp-detail { display: none; } }  /* a phone keeps Loc, Secțiune, Scor */
/* The copy button of a code box is always visible (a phone has no hover). */
[data-testid="stCode"] > div { opacity: 1 !important; visibility: visible !important; }
</style>
"""


# Why the engine answered or abstained (`Answer.reason`), as staff read it.
REASONS = {
    "answered": "răspuns",
    "uncovered": "temă neacoperită: {topic}",
    "offtopic": "în afara subiectului",
    "unknown_words": "cuvinte necunoscute politicii",
}


def reason_text(reason: str, topic_name: str = "") -> str:
    """The engine's reason in Romanian ("temă neacoperită: Păstrarea datelor")."""
    return REASONS.get(reason, reason).format(topic=topic_name or "?")


def md_escape(text: str) -> str:
    """Text for a Markdown-rendered label (expander, button, caption): shown literally."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def safe_url(url: str) -> str | None:
    """The URL when it is an absolute http(s) address, else None (no javascript:, data:, relative)."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        return None
    return url


# ---------------------------------------------------------------- question words

@lru_cache(maxsize=4096)
def _token_keys(token: str) -> tuple[str, frozenset[str]]:
    """(folded word, lexical terms) of one token of page text."""
    return fold(token), frozenset(terms(token))


@dataclass(frozen=True)
class QuestionWords:
    """The question's content words, folded, plus their lexical terms: what to emphasise in a quote.

    Folded forms make "partajati" meet "partajați"; the library's terms (stems
    and 5-letter prefixes, as its own word overlap uses) make "vindeți" meet
    "vindem". Stopwords never count, so "de", "și", "mele" stay plain.
    """

    words: frozenset[str]
    terms: frozenset[str]

    @classmethod
    def of(cls, question: str) -> QuestionWords:
        return cls(frozenset(content_words(question)), frozenset(terms(question)))

    def matches(self, token: str) -> bool:
        word, keys = _token_keys(token)
        return word in self.words or not keys.isdisjoint(self.terms)


NO_WORDS = QuestionWords(frozenset(), frozenset())


def emphasized(text: str, words: QuestionWords = NO_WORDS) -> str:
    """Escaped text with the question's words in <strong>; built from escaped pieces only."""
    if not words.words and not words.terms:
        return html.escape(text)
    out, pos = [], 0
    for match in _TOKEN.finditer(text):
        if not words.matches(match.group()):
            continue
        out.append(html.escape(text[pos:match.start()]))
        out.append(f"<strong>{html.escape(match.group())}</strong>")
        pos = match.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


# ---------------------------------------------------------------- blocks

@dataclass(frozen=True)
class _Line:
    kind: str          # "item" | "text" | "gap" | "blank"
    inner: str = ""    # escaped HTML
    indent: int = 0    # leading spaces in the section text (2 per list level)
    marker: str = ""   # list marker as written ("- ", "1. ")


def _blocks(lines: list[_Line]) -> str:
    """Lines -> paragraphs and (nested) lists; numbered items keep their numbers."""
    out: list[str] = []
    stack: list[tuple[int, str]] = []   # open lists: (indent, "ul" | "ol"), each with an open <li>

    def close(deeper_than: int) -> None:
        while stack and stack[-1][0] > deeper_than:
            out.append(f"</li></{stack.pop()[1]}>")

    for line in lines:
        if line.kind == "item":
            number = _ORDERED.match(line.marker.strip())
            tag = "ol" if number else "ul"
            close(line.indent)
            if stack and stack[-1][0] == line.indent:
                if stack[-1][1] == tag:
                    out.append("</li>")
                else:
                    close(line.indent - 1)
            if not stack or stack[-1][0] < line.indent:
                out.append(f"<{tag}>")
                stack.append((line.indent, tag))
            out.append(f'<li value="{int(number.group(1))}">' if number else "<li>")
            out.append(line.inner)
        elif line.kind == "text" and line.indent and stack:
            close(line.indent - 1)        # a later paragraph of the item it is indented under
            if stack:
                out.append(f'<div class="pp-cont">{line.inner}</div>')
            else:
                out.append(f"<p>{line.inner}</p>")
        elif line.kind == "text":
            close(-1)
            out.append(f"<p>{line.inner}</p>")
        else:
            close(-1)
            if line.kind == "gap":
                out.append(f'<p class="pp-gap">{html.escape(GAP)}</p>')
    close(-1)
    return "".join(out)


def _line_indent(text: str, start: int) -> int:
    """Spaces before `start` on its line of `text`, when only spaces precede it (else 0)."""
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    return len(before) if before and not before.strip() else 0


def quote_html(quote_text: str, gaps_after: set[int] | list[int] | None = None,
               indents: list[int] | None = None, words: QuestionWords = NO_WORDS) -> str:
    """A verbatim quote as a blockquote: list items stay (nested) list items, "[…]" where text was skipped.

    `gaps_after` are the library's `Quote.gaps`; `indents` the indentation of each
    quoted line in its section (a quote line itself starts at the marker).
    """
    gaps = set(gaps_after or ())
    lines: list[_Line] = []
    for n, line in enumerate(quote_text.splitlines()):
        base = indents[n] if indents and n < len(indents) else 0
        found = list_marker(line)
        if found:
            indent, marker = found
            body = line[indent + len(marker):]
            lines.append(_Line("item", emphasized(body, words), base + indent, marker))
        else:
            lines.append(_Line("text", emphasized(line.strip(), words), base + len(line) - len(line.lstrip())))
        if n in gaps:
            lines.append(_Line("gap"))
    return f'<blockquote class="pp-quote">{_blocks(lines)}</blockquote>'


def quote_indents(section_text: str, spans: list[tuple[int, int]]) -> list[int]:
    """Indentation of each quoted line in the section (nested list items are indented there)."""
    return [_line_indent(section_text, a) for a, _ in spans]


def _marked(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    """Escaped text[start:end] with the parts inside any span wrapped in <mark>."""
    cuts = {start, end}
    for a, b in spans:
        if a < end and b > start:
            cuts.update({max(a, start), min(b, end)})
    points = sorted(cuts)
    out = []
    for a, b in itertools.pairwise(points):
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
            lines.append(_Line("blank"))
            continue
        found = list_marker(line)
        if found:
            indent, marker = found
            lines.append(_Line("item", _marked(text, start + indent + len(marker), end, spans), indent, marker))
        else:
            indent = len(line) - len(line.lstrip())
            lines.append(_Line("text", _marked(text, start + indent, end, spans), indent))
    return f'<div class="pp-section">{_blocks(lines)}</div>'


def citation_html(citation: str, url: str = "") -> str:
    """The citation line; a link to the page (new tab) when it has a safe http(s) address."""
    link = safe_url(url)
    if link is None:
        return f'<div class="pp-cite">{html.escape(citation)}</div>'
    return (f'<div class="pp-cite"><a class="pp-ext" href="{html.escape(link, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer">{html.escape(citation)}</a></div>')


def details_html(summary: str, body_html: str) -> str:
    """A native <details> fold: Streamlit does not allow an expander inside an expander."""
    return f'<details class="pp-details"><summary>{html.escape(summary)}</summary>{body_html}</details>'


def scroll_to_last_question_js(nonce: int) -> str:
    """A script that brings the newest question (and the start of its answer) into view.

    It runs in a zero-height `st.iframe` (same origin, so it reaches the app's
    document), never through `st.html`: the HTML that carries page and user text
    never runs JavaScript. Streamlit's chat view sticks to the bottom while
    content arrives, so the script scrolls to the question a few times over
    ~1.5 s, until the answer has settled, and gives up as soon as the person
    scrolls, clicks or types. No page or user text goes into it: `nonce` only
    makes each run's script new.
    """
    return f"""<!doctype html><html><body><script data-pp-scroll="{int(nonce)}">
(() => {{
  const doc = window.parent.document;
  const events = ["wheel", "touchstart", "keydown", "mousedown"];
  let stopped = false;
  const stop = () => {{ stopped = true; }};
  for (const name of events) doc.addEventListener(name, stop, {{ once: true, passive: true, capture: true }});
  const scroll = () => {{
    if (stopped) return;
    const users = [...doc.querySelectorAll('[data-testid="stChatMessage"]')]
      .filter((m) => m.querySelector('[data-testid="stChatMessageAvatarUser"]'));
    const last = users[users.length - 1];
    if (last) last.scrollIntoView({{ block: "start", behavior: "auto" }});
  }};
  for (const ms of [0, 120, 300, 600, 1000, 1500]) setTimeout(scroll, ms);
  setTimeout(() => {{ for (const name of events) doc.removeEventListener(name, stop, {{ capture: true }}); }}, 1600);
}})();
</script></body></html>"""
