"""Extractive answers: the passage that answers first, short, verbatim, cited; others after it.

Nothing here writes prose about the policy: every quote line is a slice of a
section's text, so the answer can never say what the policy does not. The only
sentences of our own are the "not covered" message and the contact line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .engine import SCORED_QUESTION_CHARS, Engine, Retrieval, validate_question
from .language import default_language
from .lexical import word_keys
from .pages import cite
from .text import fold

# Characters of the first passage (a list is trimmed around the answering item). 450, not 350: a
# sentence with the one it leans on, or a list item with the next, fits whole more often
# (bench/quotes.py: answer in first quote dev 0.775 -> 0.804, test 0.723 -> 0.745; first quote
# 274 -> 305 characters on average, still under the 350 the issue sets; 500 adds nothing).
LEAD_BUDGET = 450
OTHER_BUDGET = 220       # characters of each secondary passage
# The section's second-best unit joins the lead passage within this score gap (dev: first 0.688 -> 0.710).
RUNNER_UP_GAP = 0.4
# ... and so does the third-best, if it also fits (bench/quotes.py: answer in first quote dev
# 0.826 -> 0.833, test 0.782 -> 0.789, +1-2 characters on average; a fourth adds nothing).
RUNNER_UPS = 2
MAX_LIST_ITEMS = 12      # items quoted when the passage is a list
COVER_QUESTION = True    # a trimmed list keeps the items that alone hold a word of the question ...
COVER_ITEMS = 1          # ... at most this many of them
SHORT_SENTENCE = 70      # a secondary sentence shorter than this brings the next one with it
LEAD_MIN_CHARS = 200     # the first passage grows by following sentences of its paragraph up to this
# Then by its better-scored neighbour unit in the section up to this (answer in first quote,
# bench/quotes.py: dev 0.754 -> 0.761, test 0.708 -> 0.715; first quote +28 characters on average).
LEAD_GROW_TO = 200
# A list item that answers is not preceded by the sibling item it grows by ("– Informarea: …" above
# "– Stocarea: … nu se stochează mai mult decât este necesar" for "Cât timp păstrați datele?"):
# the item that answers is what a visitor reads first (answer-in-first-quote equal on both halves).
ANSWERING_ITEM_FIRST = True
DANGLING_INTRO = True    # a sentence ending in ":" with no list after it is never quoted alone
ATTACH = True            # a lead sentence opening with a connector ("Prin urmare", "Acestea") brings the one before
_CONNECTOR = re.compile(r"^(prin urmare|cu alte cuvinte|in aceste cazuri|in acest caz|in acest scop|acestea|aceasta|"
                        r"acesta|acest lucru|astfel|de aceea|totodata|de asemenea|el |ea |ei |ele |in plus|"
                        # a qualifier ("Totuși, orice prelucrare efectuată înainte … rămâne legală") must not be
                        # cut from what it qualifies (no change on our sets; a quote without it can mislead)
                        r"totusi|insa|cu toate acestea|cu exceptia|exceptand|in schimb)\b")
# "cine/ce/care/cui/unde …", "which/what/who": the answer is usually a whole list, not one item of it.
_LIST_QUESTION = re.compile(r"^\s*(cu cine|cui|cine|ce|care|ce fel|unde|which|what|who)\b"
                            r"|\b(ce date|care sunt|lista)\b")
GAP = "[…]"

# Our own sentences come from the index's language resources (resources/<code>/language.yaml).
MESSAGES = default_language().messages
NOT_COVERED = MESSAGES["not_covered"]


@dataclass(frozen=True)
class Quote:
    """One passage of one section, as shown: its lines, where they are in the section, its citation."""

    page: str                  # page title
    section: str               # innermost heading
    section_path: list[str]
    quote: str                 # the quoted lines, "\n"-joined; list items keep their marker
    score: float
    source: str
    anchor: str
    url: str = ""              # page address + "#anchor" when the page declares `url:`
    spans: list[tuple[int, int]] = field(default_factory=list)  # each line's (start, end) in the section text
    gaps: list[int] = field(default_factory=list)   # indexes of lines followed by skipped text ("[…]")

    @property
    def citation(self) -> str:
        return cite(self.page, self.section_path)

    def lines_with_gaps(self) -> list[str]:
        out = []
        for n, line in enumerate(self.quote.splitlines()):
            out.append(line)
            if n in self.gaps:
                out.append(GAP)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"page": self.page, "section": self.section, "section_path": list(self.section_path),
                "citation": self.citation, "quote": self.quote, "score": round(self.score, 4),
                "source": self.source, "anchor": self.anchor, "url": self.url}


@dataclass(frozen=True)
class Answer:
    question: str
    abstained: bool
    quotes: list[Quote]        # the first one answers; the others are secondary
    message: str = ""          # our own sentence when abstaining ("Politica … nu spune …")
    contact: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    notice: str = ""           # our own note about the question itself (it was shortened), else ""
    messages: dict[str, str] = field(default_factory=lambda: dict(MESSAGES), repr=False)

    @property
    def reason(self) -> str:
        return str(self.evidence.get("reason", "answered"))

    @property
    def contact_line(self) -> str:
        if self.contact:
            return self.messages["contact_line"].format(contact=self.contact)
        return self.messages["no_contact_line"]

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "abstained": self.abstained, "message": self.message,
                "contact": self.contact, "notice": self.notice, "evidence": self.evidence,
                "answers": [q.to_json() for q in self.quotes]}

    def reply_text(self, quotes: list[Quote] | None = None) -> str:
        """Copy-ready text for a support e-mail: quotes with their gaps and citations (links when known)."""
        if self.abstained:
            return f"{self.message}\n{self.contact_line}"
        parts = []
        for quote in self.quotes if quotes is None else quotes:
            where = f"{quote.citation}: {quote.url}" if quote.url else quote.citation
            parts.append("\n".join(quote.lines_with_gaps()) + f"\n({where})")
        return "\n\n".join(parts)


def _expand(engine: Engine, unit: int, question: str, budget: int, min_chars: int = SHORT_SENTENCE,
            scores: dict[int, float] | None = None) -> list[int]:
    """The unit plus just enough context: its list intro, its list (for who/what questions), a next sentence."""
    units = engine.index.units
    anchor = unit
    intro = units[unit].intro
    if units[unit].kind == "item" and not units[unit].marker and intro is not None:
        anchor = intro     # a later sentence of a long item: quote from the item's start
    head = units[anchor]
    picked = {anchor, unit}
    items = engine.list_items.get(anchor, [])
    if items:                          # the unit introduces a list: the list is the answer
        picked.update(items[:MAX_LIST_ITEMS])
    elif head.intro is not None:       # an item brings what introduces it
        picked.add(head.intro)
        if head.kind == "item" and _LIST_QUESTION.search(fold(question)):
            picked.update(engine.list_items.get(head.intro, [])[:MAX_LIST_ITEMS])
    elif head.kind == "sentence":
        # A sentence brings the next ones of its paragraph while the passage is short: the
        # sentence that names a thing is often followed by the one that says what it does.
        size, following = len(engine.unit_text[unit]), unit + 1
        while size < min_chars and following < len(units) and units[following].line == head.line and \
                units[following].section == head.section and size + len(engine.unit_text[following]) <= budget \
                and not (DANGLING_INTRO and _dangling(engine, following)) \
                and not engine.list_items.get(following):   # never a list intro without its list
            picked.add(following)
            size += len(engine.unit_text[following]) + 1
            following += 1
    return _fit(engine, sorted(picked), keep=unit, budget=budget, scores=scores, question=question)


def _fit(engine: Engine, picked: list[int], keep: int, budget: int,
         scores: dict[int, float] | None = None, question: str = "") -> list[int]:
    """Drop list items farthest from the one that answers until the passage fits the budget.

    The list's best-scored item is kept too: a list that answers as a whole ("Parteneri și terți
    …:") keeps its first items in page order, and the one item a narrower question asks about
    ("bilete la evenimente" -> ticketing) is never cut. Dropping by score alone was neutral on
    both halves and cut the first partners out of "cui partajați datele mele?".
    """
    def size(ids: list[int]) -> int:
        return sum(len(engine.unit_text[i]) + 3 for i in ids)

    picked = list(picked)
    items = [i for i in picked if engine.index.units[i].kind == "item"]
    protected = {keep}
    if scores and items:
        protected.add(max(items, key=lambda i: scores.get(i, float("-inf"))))
        if COVER_QUESTION and question:
            protected |= _covering_items(engine, question, items, protected, scores)
    while size(picked) > budget and len(picked) > 2:
        removable = [i for i in picked if i not in protected and engine.index.units[i].kind == "item" and
                     not engine.list_items.get(i)]
        if not removable:
            break
        picked.remove(max(removable, key=lambda i: abs(i - keep)))
    return picked


def _covering_items(engine: Engine, question: str, items: list[int], protected: set[int],
                    scores: dict[int, float]) -> set[int]:
    """Items a trimmed list keeps because they alone hold a word of the question.

    "Cine poate vedea numărul meu de telefon?": the best-scored item is "Orice membru vede numele …";
    "… datele de contact (email, telefon)" is the one that answers, and the only one with "telefon".
    Rarest words first (idf), at most COVER_ITEMS items.
    """
    keys = word_keys(engine.language.plain_words(fold(question)), engine.language, synonyms=True)
    idf = engine.index.lexical.idf
    covered: set[str] = set().union(*(engine.unit_terms[i] for i in protected))
    extra: set[int] = set()
    for word in sorted(keys, key=lambda k: -max(idf(t) for t in k)):
        if len(extra) >= COVER_ITEMS:
            break
        if covered.intersection(word):
            continue
        holders = [i for i in items if i not in protected and engine.unit_terms[i].intersection(word)]
        if holders:
            best = max(holders, key=lambda i: scores.get(i, float("-inf")))
            extra.add(best)
            covered |= engine.unit_terms[best]
    return extra


def _quote(engine: Engine, section_index: int, unit_ids: list[int], score: float) -> Quote:
    """Lines of the section covering the units: one line a block, markers kept, gaps noted."""
    section = engine.index.sections[section_index]
    units = engine.index.units
    text = section.text
    lines: list[str] = []
    spans: list[tuple[int, int]] = []
    prev = -1
    for uid in unit_ids:
        u = units[uid]
        start = u.start - len(u.marker) if u.marker else u.start
        if spans and units[prev].line == u.line and not text[spans[-1][1]:start].strip():
            spans[-1] = (spans[-1][0], u.end)       # contiguous with the previous unit on the same line
        elif spans and units[prev].line == u.line:
            spans.append((u.start, u.end))
        else:
            spans.append((start, u.end))
        prev = uid
    gaps = [n for n in range(len(spans) - 1) if text[spans[n][1]:spans[n + 1][0]].strip()]
    lines = [text[a:b] for a, b in spans]
    return Quote(section.page_title, section.title, list(section.path), "\n".join(lines), score, section.source,
                 section.anchor, section.link, spans, gaps)


def answer(engine: Engine, question: str, k: int = 3, retrieval: Retrieval | None = None) -> Answer:
    """Retrieve (unless given), then lead with the passage that answers, then k-1 shorter ones."""
    k = _check_k(k)
    if retrieval is None or retrieval.question != validate_question(question):
        retrieval = engine.retrieve(question)
    quotes = []
    for n, hit in enumerate(retrieval.hits[:k]):
        unit = hit.best_unit if hit.best_unit >= 0 else _fallback_unit(engine, hit.section)
        if unit >= 0:
            unit = _usable_unit(engine, retrieval, hit.section, unit)
        if unit < 0:
            continue
        ids = _expand(engine, unit, retrieval.question, LEAD_BUDGET if n == 0 else OTHER_BUDGET,
                      LEAD_MIN_CHARS if n == 0 else SHORT_SENTENCE, retrieval.unit_scores)
        if n == 0:
            ids = _with_runner_up(engine, retrieval, hit.section, unit, ids)
            ids = _attach(engine, hit.section, ids, LEAD_BUDGET)
            ids = _grow(engine, retrieval, hit.section, ids, LEAD_GROW_TO, LEAD_BUDGET)
        quotes.append(_quote(engine, hit.section, ids, hit.score))
    evidence = retrieval.evidence
    message = ""
    said = engine.language.messages
    if retrieval.abstained:
        topic = engine.taxonomy.get(evidence.topic.topic or "")
        if evidence.reason == "uncovered" and topic is not None:
            message = said["not_covered"].format(missing=topic.missing)
        elif evidence.reason == "offtopic":
            message = said["offtopic"]
        else:
            message = said["unknown"]
    notice = said["shortened"].format(limit=SCORED_QUESTION_CHARS) if retrieval.shortened else ""
    return Answer(retrieval.question, retrieval.abstained, quotes, message, engine.contact, evidence.to_json(),
                  notice, said)


def _with_runner_up(engine: Engine, retrieval: Retrieval, section: int, best: int, ids: list[int]) -> list[int]:
    """The lead passage also shows the section's next-best units when they score nearly as well and fit.

    The sentence that names a thing and the one that answers are often two lines apart.
    """
    scores = retrieval.unit_scores
    ranked = sorted((u for u in engine.section_units[section] if u not in ids and u in scores and
                     not (DANGLING_INTRO and _dangling(engine, u))), key=lambda u: -scores[u])
    for unit in ranked[:RUNNER_UPS]:
        if scores[unit] < scores[best] - RUNNER_UP_GAP or unit in ids:
            break
        merged = sorted(set(ids) | set(_expand(engine, unit, retrieval.question, OTHER_BUDGET)))
        if sum(len(engine.unit_text[i]) + 3 for i in merged) <= LEAD_BUDGET:
            ids = merged
    return ids


def _dangling(engine: Engine, unit: int) -> bool:
    """A sentence that announces something (ends with ":") but has no list after it in the section."""
    return engine.unit_text[unit].rstrip().endswith(":") and not engine.list_items.get(unit)


def _usable_unit(engine: Engine, retrieval: Retrieval, section: int, best: int) -> int:
    """The section's best-scored unit that can stand alone: not a dangling list intro ("Iată care
    sunt modurile …:" whose list is the following sub-sections), unless the section has nothing else."""
    if not DANGLING_INTRO or not _dangling(engine, best):
        return best
    scores = retrieval.unit_scores
    ranked = sorted((u for u in engine.section_units[section] if u in scores and not _dangling(engine, u)),
                    key=lambda u: -scores[u])
    return ranked[0] if ranked else best


def _attach(engine: Engine, section: int, ids: list[int], budget: int) -> list[int]:
    """Sentences that lean on their neighbour come with it: a passage opening with a connector or a
    pronoun ("Prin urmare", "Acestea") brings the sentence before; one followed by such a sentence
    ("În aceste cazuri, ne asigurăm că …") brings it. Each only when the passage still fits."""
    if not ATTACH or not ids:
        return ids
    own = engine.section_units[section]
    units = engine.index.units
    if not own:
        return ids
    picked = sorted(set(ids))

    def leans(unit: int) -> bool:
        return units[unit].kind == "sentence" and bool(_CONNECTOR.match(fold(engine.unit_text[unit])))

    def whole(unit: int) -> bool:   # not a list intro, which would come without its list
        return not engine.list_items.get(unit) and not (DANGLING_INTRO and _dangling(engine, unit))

    def fits(extra: int) -> bool:
        return sum(len(engine.unit_text[i]) + 3 for i in [*picked, extra]) <= budget

    first, last = picked[0], picked[-1]
    if first > own[0] and leans(first) and units[first - 1].kind == "sentence" and fits(first - 1):
        picked.insert(0, first - 1)
    if last < own[-1] and leans(last + 1) and whole(last + 1) and units[last].kind == "sentence" and fits(last + 1):
        picked.append(last + 1)
    return picked


def _introduces_picked(engine: Engine, unit: int, picked: list[int]) -> bool:
    """False for a list intro none of whose items is in the passage: it would come without its list."""
    items = engine.list_items.get(unit)
    return not items or any(i in picked for i in items)


def _grow(engine: Engine, retrieval: Retrieval, section: int, ids: list[int], target: int, budget: int) -> list[int]:
    """Add the better-scored neighbour (before or after the passage, same section) while it is short."""
    if not ids:
        return ids
    own = engine.section_units[section]
    if not own:
        return ids
    first, last = own[0], own[-1]
    scores = retrieval.unit_scores
    picked = sorted(set(ids))

    def size(units: list[int]) -> int:
        return sum(len(engine.unit_text[i]) + 3 for i in units)

    while size(picked) < target:
        options = [u for u in (picked[0] - 1, picked[-1] + 1) if first <= u <= last and u not in picked]
        options = [u for u in options if size(picked) + len(engine.unit_text[u]) + 3 <= budget and
                   _introduces_picked(engine, u, picked) and not (DANGLING_INTRO and _dangling(engine, u))
                   and not (ANSWERING_ITEM_FIRST and engine.index.units[u].kind == "item"
                            and engine.index.units[picked[0]].kind == "item" and u < picked[0])]
        if not options:
            break
        best = max(options, key=lambda u: scores.get(u, float("-inf")))
        picked = sorted(set(picked) | {best})
    return picked


def _fallback_unit(engine: Engine, section: int) -> int:
    """A section outside the reranked candidates: quote its first unit."""
    ids = engine.section_units[section]
    return ids[0] if ids else -1


def _check_k(k: object) -> int:
    from .errors import QuestionError

    if isinstance(k, bool) or not isinstance(k, int):
        raise QuestionError("Numărul de secțiuni (k) trebuie să fie un număr întreg.")
    if not 1 <= k <= 50:
        raise QuestionError("Numărul de secțiuni (k) trebuie să fie între 1 și 50.")
    return k
