"""Extractive answers: the most relevant sentences and list items, verbatim, cited.

Nothing here writes prose: every quote line is a slice of a page, so the
answer can never say what the policy does not.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .engine import Engine, Retrieval, validate_question

MAX_UNITS = 3          # best sentences/items quoted per section, before list expansion
MAX_LIST_ITEMS = 12    # items quoted when the best unit introduces a list
RELATIVE_CUTOFF = 0.6  # keep a unit whose score is at least this share of the best one's


@dataclass(frozen=True)
class Quote:
    document: str
    section: str
    section_path: list[str]
    quote: str
    score: float
    source: str
    anchor: str
    # (start, end) offsets of each quoted line inside the section text, for highlighting
    spans: list[tuple[int, int]] = field(default_factory=list)

    @property
    def citation(self) -> str:
        return f"{self.document} › {self.section}"

    def to_json(self) -> dict:
        return {"document": self.document, "section": self.section, "section_path": list(self.section_path),
                "quote": self.quote, "score": round(self.score, 4), "source": self.source, "anchor": self.anchor}


@dataclass(frozen=True)
class Answer:
    question: str
    abstained: bool
    answers: list[Quote]

    def to_json(self) -> dict:
        return {"question": self.question, "abstained": self.abstained, "answers": [a.to_json() for a in self.answers]}

    def reply_text(self) -> str:
        """Copy-ready text for a support e-mail: the quotes and their citations."""
        parts = []
        for quote in self.answers:
            lines = "\n".join(f"> {line}" for line in quote.quote.splitlines())
            parts.append(f"{lines}\n({quote.citation})")
        return "\n\n".join(parts)


def _unit_scores(engine: Engine, retrieval: Retrieval, unit_ids: list[int]) -> np.ndarray:
    """Cosine to the question plus the share of its terms each unit contains."""
    cos = engine.index.unit_matrix[unit_ids] @ retrieval.query_vector
    query_terms = set(retrieval.query_terms)
    overlap = np.array([len(query_terms & engine.unit_terms[i]) / max(1, len(query_terms)) for i in unit_ids],
                       dtype=np.float32)
    return cos + 0.5 * overlap


def select_units(engine: Engine, retrieval: Retrieval, section: int) -> list[int]:
    """Indexes of the units to quote from a section, in page order."""
    ids = engine.section_units[section]
    if not ids:
        return []
    scores = _unit_scores(engine, retrieval, ids)
    # Shift so the weakest unit of the section scores 0: a relative cutoff then means something.
    shifted = scores - scores.min()
    best = float(shifted.max())
    ranked = [ids[j] for j in np.argsort(-scores, kind="stable")]
    chosen = [i for i in ranked[:MAX_UNITS] if best == 0 or shifted[ids.index(i)] >= RELATIVE_CUTOFF * best] or ranked[:1]
    return sorted(_with_list_context(engine, chosen))


def _with_list_context(engine: Engine, chosen: list[int]) -> set[int]:
    """An item brings its introducing sentence; an introducing sentence brings its list."""
    picked = set(chosen)
    for i in chosen:
        intro = engine.index.units[i].intro
        if intro is not None:
            picked.add(intro)
        picked.update(engine.list_items.get(i, [])[:MAX_LIST_ITEMS])
    return picked


def answer(engine: Engine, question: str, k: int = 3, retrieval: Retrieval | None = None) -> Answer:
    """Retrieve (unless given), then quote the best `k` distinct sections (also when abstaining)."""
    if retrieval is None or retrieval.question != validate_question(question):
        retrieval = engine.retrieve(question)
    quotes = []
    for hit in retrieval.hits[:max(1, k)]:
        section = engine.index.sections[hit.section]
        unit_ids = select_units(engine, retrieval, hit.section)
        lines = [engine.index.units[i] for i in unit_ids]
        spans = []
        for u in lines:
            start = u.start - section.start - len(u.marker)
            spans.append((start, start + len(u.quote_line)))
        quotes.append(Quote(section.page_title, section.title, list(section.path),
                            "\n".join(u.quote_line for u in lines), hit.score, section.source, section.anchor, spans))
    return Answer(retrieval.question, retrieval.abstained, quotes)
