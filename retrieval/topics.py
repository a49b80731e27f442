"""The privacy topic taxonomy (data in `resources/<lang>/topics.yaml`) and how it is applied.

Sections are labelled with topics at build time by cue patterns on their folded
text; a person can correct the map in a page's front matter. Questions are
classified at ask time (see `engine.classify`) by cue patterns and by the
similarity of the question to each topic's example questions.

Why cues on the section side: on the ONedu pages the similarity between policy
sentences and topic descriptions did not separate covered from uncovered topics
(every topic's best sentence scored 0.86-0.93), while cue words did.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from .errors import CorpusError, RetrievalError
from .language import SAFE_LOADER, topic_ids
from .pages import Page, Section
from .text import fold_key

RESOURCES = Path(__file__).resolve().parent / "resources"
OFFTOPIC = "offtopic"


@dataclass(frozen=True)
class Topic:
    id: str
    name: str            # Romanian name, for the coverage map
    missing: str         # "cât timp sunt păstrate datele": fits "Politica … nu spune {missing}."
    examples: tuple[str, ...]
    question_cues: tuple[re.Pattern[str], ...]
    section_cues: tuple[re.Pattern[str], ...]
    parent: str = ""     # a detail of this topic (`details:` in the file), "" for a topic
    over: tuple[str, ...] = ()   # broader topics this one wins over when a question cues both
    # a detail whose section cues are precise enough to answer for its topic when no section is on the
    # topic as a whole (`stands_for_topic: true`; most details' cues are broad on purpose)
    stands_for_topic: bool = False

    def asks(self, question: str) -> bool:
        return self.asks_folded(fold_key(question))

    def asks_folded(self, folded: str) -> bool:
        """`asks` on an already folded question (the engine folds once per question, not per topic)."""
        combined = self._question_alternation
        if combined is None:
            return any(c.search(folded) for c in self.question_cues)
        return combined.search(folded) is not None

    def without_cues(self, folded: str) -> str:
        """The folded question with what this topic's question cues match blanked out."""
        for cue in self.question_cues:
            folded = cue.sub(" ", folded)
        return folded

    def in_section(self, folded: str) -> bool:
        """Whether any section cue occurs in a folded section text."""
        combined = self._section_alternation
        if combined is None:
            return any(c.search(folded) for c in self.section_cues)
        return combined.search(folded) is not None

    @cached_property
    def _section_alternation(self) -> re.Pattern[str] | None:
        """All section cues as one pattern: one scan of a section instead of one per cue
        (labelling 2,000 sections: 7.3 -> 3.4 s). None if the cues cannot be joined."""
        return _alternation(list(self.section_cues))

    @cached_property
    def _question_alternation(self) -> re.Pattern[str] | None:
        """All question cues as one pattern: a question was searched with ~360 cues one by one, now ~50
        patterns (classifying a question 0.66 -> 0.56 ms, profiled at 1,000 sections)."""
        return _alternation(list(self.question_cues))


@dataclass(frozen=True)
class Taxonomy:
    topics: tuple[Topic, ...]
    offtopic_examples: tuple[str, ...]
    digest: str          # sha256 of the file: an index built with another taxonomy is stale
    personal_data_cues: tuple[re.Pattern[str], ...] = ()   # any of them: the question is about personal data
    # Details of covered topics ("how many days to answer a request", "call recordings"): a
    # policy can cover rights or data collected and still say nothing of the detail asked.
    # They label sections and decide "not covered"; a covered one asked for lifts the units that
    # match its section cues (engine.Settings.unit_detail_boost), not the sections.
    details: tuple[Topic, ...] = ()
    # Off-topic on their own when the question names no personal data and no topic: requests
    # to a general assistant ("recomandați-mi un film") and prices ("cât costă platforma").
    offtopic_cues: tuple[re.Pattern[str], ...] = ()

    def details_asked(self, folded: str, nearest_offtopic: bool = True) -> list[Topic]:
        """The details a folded question asks about. A detail's cue counts only in a question that
        names personal data, matches the detail's topic, or whose nearest example questions are
        not off-topic ones: "Acceptați plata cu cardul?" is about a shop, not about card data."""
        asked = [d for d in self.details if d.asks_folded(folded)]
        if not asked or not nearest_offtopic or self.mentions_personal_data(folded):
            return asked
        return [d for d in asked if (parent := self.get(d.parent)) is not None and parent.asks_folded(folded)]

    def named_only_by(self, detail: Topic, folded: str) -> bool:
        """Whether the question names the detail's topic only with the detail's own words: "Folosiți
        Google Analytics?" cues cookies only through "Google Analytics", the analytics detail; "Ce date
        medicale treceți în fișă?" names the data collected in its own words too."""
        parent = self.get(detail.parent)
        return parent is not None and parent.asks_folded(folded) and not parent.asks_folded(detail.without_cues(folded))

    def asks_offtopic(self, folded: str) -> bool:
        return not self.mentions_personal_data(folded) and any(c.search(folded) for c in self.offtopic_cues)

    def mentions_personal_data(self, folded: str) -> bool:
        """Whether a folded question names personal data at all ("datele", "emailul", "contul")."""
        return any(c.search(folded) for c in self.personal_data_cues)

    def get(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics + self.details if t.id == topic_id), None)

    @property
    def ids(self) -> list[str]:
        """Topics then details, in file order: every label a section can carry."""
        return [t.id for t in self.topics + self.details]

    def examples(self) -> tuple[list[str], list[str]]:
        """(example questions, their topic ids), off-topic examples last."""
        texts: list[str] = []
        labels: list[str] = []
        for topic in self.topics:
            texts += topic.examples
            labels += [topic.id] * len(topic.examples)
        texts += self.offtopic_examples
        labels += [OFFTOPIC] * len(self.offtopic_examples)
        return texts, labels


_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


def _alternation(cues: list[re.Pattern[str]]) -> re.Pattern[str] | None:
    """Cues joined into one pattern, or None if they cannot be (e.g. a global flag, allowed only at a start)."""
    if not cues or any(_BACKREFERENCE.search(c.pattern) for c in cues):
        return None   # (numbered groups shift in an alternation: "\1" would name another cue's group)
    try:
        return re.compile("|".join(f"(?:{c.pattern})" for c in cues))
    except re.error:
        return None


def _compile(patterns: Any, where: str) -> tuple[re.Pattern[str], ...]:
    if not isinstance(patterns, list):
        raise RetrievalError(f"{where}: se aștepta o listă de expresii")
    try:
        return tuple(re.compile(str(p)) for p in patterns)
    except re.error as exc:
        raise RetrievalError(f"{where}: expresie invalidă ({exc})") from None


@lru_cache(maxsize=4)
def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read and check a taxonomy file (default: the Romanian one shipped with the library)."""
    path = Path(path) if path is not None else RESOURCES / "ro" / "topics.yaml"
    try:
        raw = path.read_bytes()
        data = yaml.load(raw, Loader=SAFE_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise RetrievalError(f"Taxonomia temelor ({path}) nu poate fi citită: {type(exc).__name__}") from None
    if not isinstance(data, dict) or not isinstance(data.get("topics"), list):
        raise RetrievalError(f"{path}: taxonomia trebuie să aibă o listă `topics`")
    topics = _topics(data["topics"], path.name, "tema")
    if not isinstance(data.get("details") or [], list):
        raise RetrievalError(f"{path}: `details` trebuie să fie o listă")
    details = _topics(data.get("details") or [], path.name, "detaliul")
    ids = [t.id for t in topics]
    for detail in details:
        if detail.parent not in ids:
            raise RetrievalError(
                f"{path.name}, detaliul {detail.id}: `parent` trebuie să fie o temă ({detail.parent!r})")
        if detail.examples:   # examples feed the nearest-topic classifier, which details stay out of
            raise RetrievalError(f"{path.name}, detaliul {detail.id}: un detaliu nu are `examples`")
    for topic in topics:
        if unknown := [o for o in topic.over if o not in ids or o == topic.id]:
            raise RetrievalError(
                f"{path.name}, tema {topic.id}: `over` numește teme necunoscute ({', '.join(unknown)})")
    if len(set(ids + [d.id for d in details])) != len(ids) + len(details):
        raise RetrievalError(f"{path.name}: id-uri de teme repetate")
    offtopic = tuple(str(e) for e in (data.get(OFFTOPIC) or {}).get("examples") or ())
    offtopic_cues = _compile((data.get(OFFTOPIC) or {}).get("question_cues") or [], f"{path.name}, offtopic")
    cues = _compile(data.get("personal_data_cues") or [], f"{path.name}, personal_data_cues")
    return Taxonomy(tuple(topics), offtopic, hashlib.sha256(raw).hexdigest(), cues, tuple(details), offtopic_cues)


def _topics(items: list[Any], file: str, what: str) -> list[Topic]:
    topics = []
    for n, item in enumerate(items):
        where = f"{file}, {what} {n + 1}"
        try:
            topics.append(Topic(str(item["id"]), str(item["name"]), str(item["missing"]),
                                tuple(str(e) for e in item.get("examples") or ()),
                                _compile(item.get("question_cues") or [], where),
                                _compile(item.get("section_cues") or [], where),
                                str(item.get("parent") or ""), topic_ids(item.get("over"), where),
                                _flag(item.get("stands_for_topic", False), where)))
        except (KeyError, TypeError, AttributeError):
            raise RetrievalError(f"{where}: lipsesc id, name sau missing") from None
    return topics


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise RetrievalError(f"{where}: `stands_for_topic` trebuie să fie true sau false")
    return value


def section_topics(taxonomy: Taxonomy, section: Section) -> list[str]:
    """Topics whose section cues occur in the section's headings or text."""
    folded = fold_key(" ".join(section.path) + "\n" + section.text)
    return [t.id for t in taxonomy.topics + taxonomy.details if t.in_section(folded)]


def _overrides(page: Page, section: Section, taxonomy: Taxonomy) -> tuple[set[str], set[str]]:
    """Front matter `topics: {"Section title" or "*": [id, -id]}`: a person's corrections to the map."""
    spec = page.meta.get("topics")
    if spec is None:
        return set(), set()
    if not isinstance(spec, dict):
        raise CorpusError(f"{page.source}: `topics:` din antet trebuie să fie un dicționar titlu → listă de teme")
    add: set[str] = set()
    remove: set[str] = set()
    for title, ids in spec.items():
        if str(title) != "*" and fold_key(str(title)) != fold_key(section.title):
            continue
        for raw in ids if isinstance(ids, list) else [ids]:
            topic_id = str(raw).strip()
            target = remove if topic_id.startswith("-") else add
            topic_id = topic_id.lstrip("+-").strip()
            if taxonomy.get(topic_id) is None:
                raise CorpusError(f"{page.source}: tema necunoscută în `topics:`: {topic_id}")
            target.add(topic_id)
    return add, remove


def label_sections(pages: list[Page], sections: list[Section], taxonomy: Taxonomy) -> list[Section]:
    """The sections with their `topics` set: proposed by cues, corrected by front matter."""
    by_source = {p.source: p for p in pages}
    labelled = []
    for section in sections:
        found = set(section_topics(taxonomy, section))
        add, remove = _overrides(by_source[section.source], section, taxonomy)
        topics = tuple(t for t in taxonomy.ids if t in (found | add) - remove)
        labelled.append(Section(section.source, section.page_title, section.path, section.anchor, section.text,
                                section.line, section.url, topics))
    return labelled
