"""The GDPR coverage map: for each topic of the taxonomy, what the policy says, or that it says nothing.

For evaluators: "does this policy tell people how long data is kept, who the
DPO is, how to complain?" at a glance. A topic is covered by the sections its
cues (or a person, in front matter) labelled; its best sentence is the unit of
those sections nearest to the centroid of the topic's example questions.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engine import Engine
from .text import fold_key


@dataclass(frozen=True)
class DetailCoverage:
    """A named part of a topic ("the answer term" of rights): a policy can cover the topic without it."""

    detail: str
    name: str
    missing: str
    sections: list[str] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return bool(self.sections)

    def to_json(self) -> dict[str, Any]:
        return {"detail": self.detail, "name": self.name, "covered": self.covered, "sections": self.sections,
                "missing": self.missing}


@dataclass(frozen=True)
class TopicCoverage:
    topic: str
    name: str
    missing: str
    sections: list[str] = field(default_factory=list)   # citations of the sections on the topic
    best_sentence: str = ""
    best_citation: str = ""
    details: list[DetailCoverage] = field(default_factory=list)   # of a covered topic only

    @property
    def covered(self) -> bool:
        return bool(self.sections)

    @property
    def missing_details(self) -> list[DetailCoverage]:
        return [d for d in self.details if not d.covered]

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "name": self.name, "covered": self.covered, "sections": self.sections,
                "best_sentence": self.best_sentence, "best_citation": self.best_citation,
                "missing": self.missing, "details": [d.to_json() for d in self.details]}


def coverage_map(engine: Engine) -> list[TopicCoverage]:
    """Every taxonomy topic, in taxonomy order, with the sections that cover it."""
    index = engine.index
    labels = np.array(index.example_topics)
    out = []
    for topic in engine.taxonomy.topics:
        sections = [n for n, s in enumerate(index.sections) if topic.id in s.topics]
        if not sections:
            out.append(TopicCoverage(topic.id, topic.name, topic.missing))
            continue
        rows = index.example_matrix[labels == topic.id]
        units = [u for n in sections for u in engine.section_units[n]]
        # Prefer the sentences that carry the topic's own cue ("Nu vindem …" for selling), then
        # the one nearest the topic's example questions: the centroid alone picks neighbours.
        cued = [u for u in units if any(c.search(fold_key(engine.unit_text[u])) for c in topic.section_cues)]
        units = cued or units
        # A list intro ("Parteneri și terți cu care partajăm informații:") says nothing without its list.
        units = [u for u in units if not engine.unit_text[u].rstrip().endswith(":")] or units
        best, where = "", ""
        if len(rows) and units:
            centroid = rows.mean(axis=0)
            top = units[int(np.argmax(index.unit_matrix[units] @ centroid))]
            best = engine.unit_text[top]
            where = index.sections[index.units[top].section].citation
        details = [DetailCoverage(d.id, d.name, d.missing,
                                  [s.citation for s in index.sections if d.id in s.topics])
                   for d in engine.taxonomy.details if d.parent == topic.id]
        out.append(TopicCoverage(topic.id, topic.name, topic.missing,
                                 [index.sections[n].citation for n in sections], best, where, details))
    return out


def format_coverage(entries: list[TopicCoverage]) -> str:
    """Plain text for a terminal: covered topics with their sections, then what is missing."""
    covered = [e for e in entries if e.covered]
    missing = [e for e in entries if not e.covered]
    lines = [f"Teme acoperite ({len(covered)} din {len(entries)}):"]
    for e in covered:
        lines.append(f"  ✓ {e.name} [{e.topic}]: " + " | ".join(e.sections[:4]) + (" …" if len(e.sections) > 4 else ""))
        if e.best_sentence:
            lines.append(f"      „{e.best_sentence[:160]}{'…' if len(e.best_sentence) > 160 else ''}”")
        lines += [f"      ✗ detaliu: nu spune {d.missing}" for d in e.missing_details]
    lines += ["", f"Teme despre care politica nu spune nimic ({len(missing)}):"]
    lines += [f"  ✗ {e.name} [{e.topic}]: nu spune {e.missing}" for e in missing]
    return "\n".join(lines) + "\n"


def coverage_html(entries: list[TopicCoverage], heading: bool = True) -> str:
    """The map as an HTML table (escaped), for the report (`heading=False` when the page title says it)."""
    rows = []
    for e in entries:
        state = "acoperită" if e.covered else "lipsește"
        detail = f"Politica nu spune {html.escape(e.missing)}."
        if e.covered:
            detail = html.escape(" | ".join(e.sections)) + (
                f"<br><q>{html.escape(e.best_sentence)}</q>" if e.best_sentence else "") + "".join(
                f'<br><span class="missing-detail">Nu spune {html.escape(d.missing)}.</span>'
                for d in e.missing_details)
        rows.append(f'<tr class="{"ok" if e.covered else "missing"}"><td>{html.escape(e.name)}</td>'
                    f"<td>{state}</td><td>{detail}</td></tr>")
    return (('<h2>Harta acoperirii GDPR</h2>' if heading else "")
            + '<table id="coverage-map"><thead><tr><th>temă</th><th>stare</th>'
            "<th>secțiuni / ce lipsește</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
