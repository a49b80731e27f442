"""The reply support staff paste into an e-mail: greeting, the chosen quotes, citations, closing.

Plain text, built from the library's quotes as they are: every quote keeps its
"[…]" gaps (sentences from different paragraphs never read as one), list items
keep their markers, and each quote is followed by its citation and, when the
page declares `url:`, the link to the section.
"""
from __future__ import annotations

import retrieval as r

# A quote is pre-selected when its section scores within this gap of the first one. On the shipped
# examples the top score is 2.8-3.7 and unrelated sections sit 1.0-2.5 lower; within 0.4 are the
# sections that answer together ("Cum protejăm…" + "…siguranța, securitatea", 3.73 / 3.69).
PRESELECT_GAP = 0.4
NO_CONTACT = "adresa de contact de pe site-ul nostru"


def preselected(quotes: list[r.Quote]) -> list[bool]:
    """Which quotes start ticked: the first, and those scoring nearly as well."""
    if not quotes:
        return []
    top = quotes[0].score
    return [n == 0 or q.score >= top - PRESELECT_GAP for n, q in enumerate(quotes)]


def quote_block(quote: r.Quote) -> str:
    lines = quote.lines_with_gaps()
    where = f"{quote.citation} – {quote.url}" if quote.url else quote.citation
    return "„" + "\n".join(lines) + "”\n(" + where + ")"


def compose(answer: r.Answer, quotes: list[r.Quote], greeting: str, closing: str) -> str:
    """The whole reply; `{contact}` in the templates becomes the answer's contact."""
    contact = answer.contact or NO_CONTACT
    head = greeting.replace("{contact}", contact).strip()
    tail = closing.replace("{contact}", contact).strip()
    if answer.abstained:
        body = answer.message
    elif quotes:
        body = "\n\n".join(quote_block(q) for q in quotes)
    else:
        body = "(Niciun citat ales.)"
    return "\n\n".join(part for part in (head, body, tail) if part)
