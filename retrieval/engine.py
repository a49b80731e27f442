"""Hybrid retrieval over sections, sentence-level reranking, and a decision to abstain that can be explained.

Scoring, per section (the unit of citation):
  dense   = best chunk cosine + best sentence cosine (e5)
  lexical = best chunk BM25 over folded stems and prefixes
  fused   = w * minmax(dense) + (1 - w) * lexical / max(lexical)
Weighted fusion of normalised scores beat RRF and either signal alone
(`bench/fusion.py`). The best few sections are then reranked by their best
*quotable unit* (sentence, list item, table row): its cosine, the share of the
question's terms it contains, and its section's fused score as a prior. The
first quote a user reads is that unit, so it must be the sentence that answers,
not merely a sentence of the right section.

Abstention: e5 cosines sit in a narrow band (0.75-0.93) for on- and off-topic
questions alike, so a cosine threshold alone cannot decide. Two signals do:
  * the question's privacy topic (`classify`): cue patterns, else the nearest
    topic by example questions with a margin; when the policy has no section on
    that topic, the engine says what the policy does not say;
  * lexical coverage: the share of the question's content words the policy uses
    at all (gibberish and questions in foreign vocabulary score near 0).
"""
from __future__ import annotations

import gc
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from . import threads
from .candidates import (
    EXACT_SECTIONS,
    ListItems,
    SectionUnits,
    UnitCues,
    UnitTerms,
    UnitTexts,
    cue_matchers,
    pool,
    read_rows,
)
from .embeddings import Embedder, get_embedder
from .errors import QuestionError
from .language import AnswerType
from .lexical import question_terms, terms, word_keys
from .pages import Section
from .store import LoadedIndex
from .text import fold_key, model_text, sanitize
from .topics import OFFTOPIC, Taxonomy, load_taxonomy

MAX_QUESTION_CHARS = 2000      # longer is refused with a message (the chat box stops typing here)
# What the engine scores of a question. The model's CPU time grows with length (18 ms at 50
# characters, 67 ms at 300, 612 ms at 2,000: bench/question_cost.py, load average 9);
# the longest question of every real set is 77 characters, so 300 keeps all of them whole.
SCORED_QUESTION_CHARS = 300
_NEGATION = re.compile(r"\b(nu|niciun\w*|nicio)\b")
_WH_QUESTION = re.compile(r"^\W*(ce|care|cum|cine|cui|unde|cand|cat|cate|de ce|la ce|in ce|pe ce|cu ce"
                          r"|what|which|how|who|where)\b")
TOPIC_RANKS = 16   # a cued topic's extra candidates come from the fused ranking's first this many
MAX_HITS = 100   # sections a retrieval ranks (k is at most 50): never one object per section of a large corpus
CONTACT_ENV = "PRIVACY_CONTACT"
Fusion = Literal["weighted", "rrf", "dense", "lexical"]


@dataclass(frozen=True)
class Settings:
    """Tunable knobs; defaults are what bench/fusion.py and bench/calibrate.py chose on the dev half."""

    fusion: Fusion = "weighted"
    dense_weight: float = 0.5      # weighted fusion: share of the dense score
    title_weight: float = 0.15     # + this times minmax(question . section heading), both embedded as queries
    candidates: int = 8            # sections reranked by their best unit
    # + up to this many more, labelled with the topic a cue named: a section the fused ranking put 9th
    # can hold the answer ("cât timp rămân logat?" -> the cookie table). Dev hit@1, hit@3 and answer in
    # first +1 each, test hit@3 +1, eval/fresh* equal; 4 the same as 2
    topic_candidates: int = 2
    unit_cosine: float = 1.0       # unit score = unit_cosine * minmax(cos) ...
    unit_overlap: float = 1.0      # ... + unit_overlap * idf-weighted share of question words in the unit ...
    section_prior: float = 1.0     # ... + section_prior * fused score of its section
    topic_boost: float = 0.8       # ... + topic_boost when the section is labelled with the question's topic
    unit_topic_boost: float = 0.3  # ... + unit_topic_boost when the unit itself matches the topic's section cues
    unit_other_topic: float = 0.4  # ... - this when the unit matches only other topics' cues
    # ... + this when the unit has the form of the answer ("cât timp?" -> "30 de zile"; language.yaml):
    # dev hit@1 0.899 -> 0.920, answer in first 0.804 -> 0.826; test 0.854 -> 0.861, 0.745 -> 0.752
    answer_type_boost: float = 1.5
    # ... + this when the unit matches the section cues of a covered detail the question asks
    # ("În cât timp primesc răspuns?" -> "în termen de 30 de zile"): answer in first dev +1, test 0.
    # 0.3 -> 0.5 (round 5: "Costă ceva dacă vreau să aflu ce date aveți?" led with a section whose best
    # line says nothing of cost): dev equal, test hit@1 and first +1, eval/fresh* +1 each; 0.8 the same
    unit_detail_boost: float = 0.5
    rerank: bool = True
    # ... - this for a section titled by what is NOT done ("Date pe care NU le colectăm") when a wh-question
    # without a negation asks what is ("Ce date colectați despre mine?" led with it on sintezaur); no
    # question of our sets moves either way (a yes/no question keeps such a section: "Nu folosim …")
    negated_title_penalty: float = 0.6
    synonyms: bool = True          # a question's words also match their synonyms (language.yaml)
    # a word only in a condition ("unde mă plâng dacă asociația îmi folosește datele?") weighs this much
    # in the word overlap: 1.0 -> 0.5 dev hit@1 and first +1 each, test and eval/fresh* equal; 0.25 the same
    condition_weight: float = 0.5
    min_coverage: float = 0.05     # abstain when fewer of the question's words occur in the policy
    topic_similarity: float = 0.86  # nearest-example topic accepted from this cosine ...
    topic_margin: float = 0.01     # ... when it beats every other topic by this much
    uncovered_margin: float = 0.03  # "the policy does not say" on example similarity alone needs this margin
    offtopic_margin: float = 0.01  # ... the same for "not about personal data" (no cue can say that)
    abstain_uncovered: bool = True


@dataclass(frozen=True)
class SectionHit:
    section: int
    score: float       # rank score after reranking (fused score when not reranked)
    fused: float       # hybrid section score (weighted fusion: in [0, 1], plus the title term)
    best_unit: int     # index of the section's best unit for this question (-1: none)
    unit_cosine: float  # cosine of that unit (raw, for staff and calibration)
    lexical: float     # best chunk BM25 (raw)


@dataclass(frozen=True)
class TopicGuess:
    """What the question is about, and how sure the engine is."""

    topic: str | None      # a taxonomy id, "offtopic", or None when unsure
    by: str                # "detail" | "cue" | "offtopic_cue" | "examples" | "nearest" (off-topic, no
                           # personal-data word) | "none"
    similarity: float      # best example cosine of that topic
    margin: float          # over the next topic
    covered: bool          # the policy has at least one section on the topic
    details: tuple[str, ...] = ()  # covered details the question asks about ("costă ceva?" -> request_fee)


@dataclass(frozen=True)
class Evidence:
    """Why the engine answered or abstained."""

    coverage: float        # share of the question's content words the policy uses
    unit_cosine: float     # cosine of the quoted unit
    topic: TopicGuess
    reason: str            # "answered" | "uncovered" | "offtopic" | "unknown_words"
    answer_types: tuple[str, ...] = ()   # form the answer should take ("o durată"): units of it were boosted

    def to_json(self) -> dict[str, Any]:
        return {"coverage": round(self.coverage, 4), "unit_cosine": round(self.unit_cosine, 4),
                "topic": self.topic.topic, "topic_by": self.topic.by,
                "topic_similarity": round(self.topic.similarity, 4), "topic_margin": round(self.topic.margin, 4),
                "topic_covered": self.topic.covered, "details": list(self.topic.details),
                "answer_types": list(self.answer_types), "reason": self.reason}


@dataclass(frozen=True)
class Retrieval:
    question: str
    hits: list[SectionHit]   # candidate sections reranked first, then the rest by fused score
    abstained: bool
    evidence: Evidence
    query_vector: np.ndarray = field(repr=False)
    unit_scores: dict[int, float] = field(default_factory=dict, repr=False)  # unit -> rerank score
    query_terms: tuple[str, ...] = ()
    shortened: bool = False  # only the first SCORED_QUESTION_CHARS characters were scored


def prepare_question(question: object) -> tuple[str, bool]:
    """(what the engine scores, whether it was shortened); a QuestionError with a clear Romanian message.

    The text is sanitised first (`text.sanitize`: surrogates, control and escape
    characters), whitespace collapsed, then cut at a word boundary to
    `SCORED_QUESTION_CHARS` so one visitor cannot keep a core busy.
    """
    if not isinstance(question, str):
        raise QuestionError("Întrebarea trebuie să fie text.")
    if len(question) > 4 * MAX_QUESTION_CHARS:   # refuse before any per-character work
        raise QuestionError(_too_long(len(question)))
    text = " ".join(sanitize(question).split())
    if not text:
        raise QuestionError("Întrebarea este goală: scrieți ce doriți să aflați despre datele dvs.")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(_too_long(len(text)))
    if len(text) <= SCORED_QUESTION_CHARS:
        return text, False
    cut = text[:SCORED_QUESTION_CHARS + 1].rsplit(" ", 1)[0] if " " in text[:SCORED_QUESTION_CHARS] else ""
    return (cut or text[:SCORED_QUESTION_CHARS]).rstrip(), True


def _too_long(chars: int) -> str:
    return (f"Întrebarea este prea lungă ({chars} caractere; cel mult {MAX_QUESTION_CHARS}). "
            "Scrieți doar întrebarea, pe scurt.")


def validate_question(question: object) -> str:
    """The question as the engine scores it (see `prepare_question`)."""
    return prepare_question(question)[0]


def _minmax(values: np.ndarray) -> np.ndarray:
    spread = float(values.max() - values.min()) if len(values) else 0.0
    return (values - values.min()) / spread if spread > 0 else np.zeros_like(values)


def _by_max(values: np.ndarray) -> np.ndarray:
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else np.zeros_like(values)


def _rrf(*rankings: np.ndarray, k: int = 60) -> np.ndarray:
    total = np.zeros_like(rankings[0], dtype=np.float64)
    for scores in rankings:
        ranks = np.argsort(np.argsort(-scores, kind="stable"), kind="stable")
        total += 1.0 / (k + ranks + 1)
    return total


def fuse(dense: np.ndarray, lexical: np.ndarray, settings: Settings) -> np.ndarray:
    """Combine per-section dense and lexical scores the way `settings.fusion` says."""
    if settings.fusion == "dense":
        return _minmax(dense)
    if settings.fusion == "lexical":
        return _by_max(lexical)
    if settings.fusion == "rrf":
        return _rrf(dense, lexical)
    return settings.dense_weight * _minmax(dense) + (1 - settings.dense_weight) * _by_max(lexical)


class Engine:
    """A loaded index plus its model: ask it questions, as many as you like."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings | None = None,
                 taxonomy: Taxonomy | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.language = index.lexical.language
        self.warnings: list[str] = []
        # Abstention thresholds are the model's own, recorded in the index at build time.
        thresholds = index.manifest.get("thresholds")
        if settings is None:
            settings = replace(Settings(), **thresholds) if isinstance(thresholds, dict) else Settings()
        if not isinstance(thresholds, dict):
            self.warnings.append(
                f"Pragurile de abținere nu sunt calibrate pentru modelul „{index.manifest.get('model')}”: "
                "se folosesc cele ale modelului implicit, iar „nu spune” poate greși (vezi bench/calibrate.py).")
        self.settings = settings
        self.taxonomy = taxonomy or load_taxonomy(self.language.folder / "topics.yaml")
        n = len(index.sections)
        self._chunk_section = np.asarray(index.chunk_section, dtype=np.int64)
        self._unit_section = np.asarray(index.unit_section, dtype=np.int64)
        self._n_sections = n
        # Per-unit facts, computed the first time a question needs them (candidates.py): nothing
        # here is proportional to the corpus, so load stays flat up to 100,000 sections.
        self.unit_text = UnitTexts(index)
        self.unit_terms = UnitTerms(self.unit_text, self.language)
        self.section_units = SectionUnits(index)
        self.list_items = ListItems(index.units, self.section_units)
        self.covered_topics = set(index.covered_topics)
        # Once, not at every answer: at 100,000 sections (10,000 pages) the walk took 0.3 ms a question.
        self._declared_contact = next((p["contact"] for p in index.pages.values() if p.get("contact")), "")
        self.exact_below = EXACT_SECTIONS   # corpora with more sections score a candidate pool
        self._example_topics = np.array(index.example_topics)
        self._topic_ids = sorted(set(index.example_topics))
        # The examples grouped by topic (sorted ids, as _topic_ids): each topic's best example cosine is
        # one reduction, where a mask a topic cost ~0.3 ms a question.
        self._example_order = np.argsort(self._example_topics, kind="stable")
        self._topic_starts = np.searchsorted(self._example_topics[self._example_order], self._topic_ids)
        # The cues each unit matches, from the index when it was built with this taxonomy and language.
        matchers = cue_matchers(self.taxonomy, self.language)
        names = tuple(name for name, _ in matchers)
        recorded = index.manifest.get("language")
        same = (index.unit_cue_names == names and index.manifest.get("taxonomy") == self.taxonomy.digest
                and isinstance(recorded, dict) and recorded.get("digest") == self.language.digest)
        self.unit_cues = UnitCues(self.unit_text, matchers, index.unit_cues if same else None)
        self._cue_bit = {name: n for n, name in enumerate(names)}
        self._topic_mask = sum(1 << n for n, name in enumerate(names) if name.startswith("topic:"))

    @classmethod
    def open(cls, index_dir: Path, settings: Settings | None = None) -> Engine:
        from .store import load_index

        loaded = load_index(index_dir)
        engine = cls(loaded, get_embedder(loaded.manifest["model"]), settings)
        _tune_for_latency()
        return engine

    def with_settings(self, **changes: Any) -> Engine:
        """Same index and model, other knobs (used by the benchmarks)."""
        engine = Engine.__new__(Engine)
        engine.__dict__.update(self.__dict__)
        engine.settings = replace(self.settings, **changes)
        return engine

    @property
    def sections(self) -> Sequence[Section]:
        """The index's sections in order (lazy records): what a hit's `section` number points into."""
        return self.index.sections

    @property
    def contact(self) -> str:
        """Who to write to when the policy does not answer: front matter `contact:` on any page,
        else the `PRIVACY_CONTACT` setting (environment), else ""."""
        return self._declared_contact or os.environ.get(CONTACT_ENV, "").strip()

    def _per_section_max(self, values: np.ndarray, owners: np.ndarray) -> np.ndarray:
        out = np.full(self._n_sections, -np.inf, dtype=np.float32)
        np.maximum.at(out, owners, values)
        out[np.isinf(out)] = 0.0
        return out

    def classify(self, text: str, vector: np.ndarray) -> TopicGuess:
        """The question's topic: a cue pattern if one matches, else the nearest topic by examples;
        a covered topic gives way to a detail of it the policy lacks."""
        sims = self.index.example_matrix @ vector if len(self.index.example_matrix) else np.zeros(0)
        tops: list[float] = (np.maximum.reduceat(sims[self._example_order], self._topic_starts).tolist()
                             if self._topic_ids else [])
        per_topic = dict(zip(self._topic_ids, tops, strict=True))
        ranked = sorted(per_topic.items(), key=lambda kv: -kv[1])
        folded = fold_key(text)
        nearest_offtopic = bool(ranked) and ranked[0][0] == OFFTOPIC
        asked = self.taxonomy.details_asked(folded, nearest_offtopic)
        missing = next((d for d in asked if d.id not in self.covered_topics), None)
        details = tuple(d.id for d in asked if d.id in self.covered_topics)
        cued = [t.id for t in self.taxonomy.topics if t.asks_folded(folded)]
        if len(cued) > 1:
            # "Dacă îmi șterg contul, mai păstrați ceva?" asks about keeping, not deleting: the main
            # clause's topics, when it has any, over the condition's.
            main = self.language.main_clause(folded)
            in_main = [t.id for t in self.taxonomy.topics if t.id in cued and t.asks_folded(main)] if (
                main != folded) else []
            cued = in_main or cued
        if len(cued) > 1:
            # The narrower topic over the broader one it names (`over` in topics.yaml): a transfer
            # abroad is a sharing too, and a question cueing both asks about the transfer.
            broader = {o for t in self.taxonomy.topics if t.id in cued for o in t.over}
            cued = [t for t in cued if t not in broader] or cued
        # A detail asked names its topic too ("cât timp păstrați adresa IP?": retention, by its
        # log_retention detail, though only "adresa IP" cues a topic, data_collected).
        named = set(cued) | {d.parent for d in asked}
        if len(named) > 1:
            # A question asking for a form whose topic is cued too, beside only the topics that form
            # outranks ("cât durează până mi se șterg datele?": retention over erasure), is about it.
            for form in self.language.answer_types_asked(folded):
                if form.topic in named and named - {form.topic} <= set(form.over):
                    cued = [form.topic]
                    break
        best = max(cued, key=lambda t: per_topic.get(t, 0.0)) if cued else None
        if missing is not None and (best is None or self._covered(best)):
            # A detail of a covered topic that no section mentions ("În câte zile răspundeți la o
            # cerere?" where the rights section gives no term): the topic alone said "answer".
            # A topic the policy lacks altogether is the more useful thing to say, so it comes first.
            sim = per_topic.get(missing.parent, 0.0)
            return TopicGuess(missing.id, "detail", sim, sim - max((v for t, v in ranked if t != missing.parent),
                                                                   default=0.0), False)
        if best is not None:
            others = [v for t, v in ranked if t != best]
            sim = per_topic.get(best, 0.0)
            # A detail the policy covers (one marked `stands_for_topic`: its section cues are precise)
            # answers a question that names its topic only through the detail, though no section is
            # on the topic as a whole: "Folosiți Google Analytics …?" on ONedu, whose partners list
            # names it and which has no cookie section (onedu-f9-02 was declined as "nu spune …
            # cookie-uri"). Not health data, whose cues are broad: "Ce date medicale treceți în fișă?"
            # on a clinic that names no data it keeps stays "nu spune" (dentocare-15).
            covered = self._covered(best) or any(
                (detail := self.taxonomy.get(d)) is not None and detail.parent == best and detail.stands_for_topic
                and self.taxonomy.named_only_by(detail, folded) for d in details)
            return TopicGuess(best, "cue", sim, sim - (others[0] if others else 0.0), covered, details)
        if not ranked:
            return TopicGuess(None, "none", 0.0, 0.0, True, details)
        if self.taxonomy.asks_offtopic(folded):
            # No topic cue, no personal-data word, and a request to a general assistant or a price:
            # the example margin cannot tell these ("recomandați-mi un film bun": 0.001).
            sim = per_topic.get(OFFTOPIC, 0.0)
            return TopicGuess(OFFTOPIC, "offtopic_cue", sim, sim - max(
                (v for t, v in ranked if t != OFFTOPIC), default=0.0), True)
        (best, sim), second = ranked[0], (ranked[1][1] if len(ranked) > 1 else 0.0)
        s = self.settings
        margin = s.offtopic_margin if best == OFFTOPIC else s.topic_margin
        if sim >= s.topic_similarity and sim - second >= margin:
            return TopicGuess(best, "examples", sim, sim - second, self._covered(best), details)
        if best == OFFTOPIC and not self.taxonomy.mentions_personal_data(folded):
            # Nearest to the off-topic examples and not a word about personal data ("Cât costă
            # livrarea?", "Pot adăuga logo-ul într-un sondaj?"): +8 off-topic caught on our 398
            # questions, no answerable one lost; the margin alone cannot tell (0.001-0.016).
            return TopicGuess(OFFTOPIC, "nearest", sim, sim - second, True)
        return TopicGuess(None, "none", sim, sim - second, True, details)

    def _covered(self, topic: str) -> bool:
        return topic == OFFTOPIC or topic in self.covered_topics

    def decide(self, coverage: float, guess: TopicGuess) -> str:
        """'answered' or why not: the single place where the engine chooses to abstain."""
        s = self.settings
        if guess.topic == OFFTOPIC and not (guess.by == "nearest" and coverage < s.min_coverage):
            return "offtopic"   # (words the policy never uses, merely nearest to off-topic: gibberish, below)
        if s.abstain_uncovered and guess.topic is not None and not guess.covered and (
                guess.by in ("cue", "detail") or guess.margin >= s.uncovered_margin):
            return "uncovered"   # the most useful answer: name what the policy does not say
        if coverage < s.min_coverage and not (guess.by == "cue" and guess.covered):
            # Words the policy never uses: gibberish or another vocabulary. A question a cue
            # places in a topic the policy covers is answered all the same ("retrag
            # consimțământul" where the page says "revoca acordul").
            return "unknown_words"
        return "answered"

    def retrieve(self, question: str) -> Retrieval:
        """Score the sections for the question, rerank the best by their best unit, decide."""
        text, shortened = prepare_question(question)
        vector = self.embedder.embed_queries([model_text(text)])[0]
        index = self.index
        s = self.settings

        query_terms = terms(text, self.language)
        folded = fold_key(text)
        lexical_text = self.language.plain_words(folded) if s.synonyms else text
        chunk_lexical = index.lexical.scores(question_terms(lexical_text, self.language) if s.synonyms else query_terms)
        if self._n_sections <= self.exact_below:
            unit_cos = index.unit_matrix @ vector
            best_chunk = self._per_section_max(index.chunk_matrix @ vector, self._chunk_section)
            best_unit_cos = self._per_section_max(unit_cos, self._unit_section)
            lexical = self._per_section_max(chunk_lexical, self._chunk_section)
            fused = fuse(best_chunk + best_unit_cos, lexical, s)
            if s.title_weight:
                # Real policies title sections with the very question ("Cine primește datele mele?"):
                # dev hit@1 0.891 -> 0.899, test 0.847 -> 0.854, hit@3 +0.008 on test.
                fused = fused + s.title_weight * _minmax(index.title_matrix @ vector)
            order = [int(i) for i in _ranked(fused, MAX_HITS)]
        else:
            unit_cos, lexical, fused, order = self._score_pool(vector, chunk_lexical)

        guess = self.classify(text, vector)
        candidates = order[:max(1, s.candidates)]
        if s.topic_candidates and guess.by == "cue" and guess.covered and guess.topic not in (None, OFFTOPIC):
            # only from the first TOPIC_RANKS of the fused ranking: a candidate pool (large corpora) holds
            # those as exhaustive scoring does, not every section of the topic (top-1 = exhaustive at
            # 100,000 sections: 0.985 drawing from the whole ranking, 0.99 without topic candidates)
            candidates = candidates + [sec for sec in order[len(candidates):TOPIC_RANKS]
                                       if guess.topic in index.sections[sec].topics][:s.topic_candidates]
        answer_types = tuple(t for t in self.language.answer_types_asked(folded) if guess.topic not in t.unless)
        query_words = word_keys(lexical_text, self.language, s.synonyms)
        factors = None
        if s.condition_weight != 1.0:
            asked = set(word_keys(self.language.plain_words(self.language.asked_part(folded)), self.language,
                                  s.synonyms))
            factors = [1.0 if keys in asked else s.condition_weight for keys in query_words]
        unit_scores = self._unit_scores(candidates, unit_cos, fused, query_words, guess, answer_types, text, factors)
        best: dict[int, tuple[float, int]] = {}
        for unit, score in unit_scores.items():
            sec = int(self._unit_section[unit])
            if sec not in best or score > best[sec][0]:
                best[sec] = (score, unit)
        if s.rerank:
            candidates = sorted(candidates, key=lambda c: -best.get(c, (float(fused[c]), -1))[0])
        hits = []
        reranked = set(candidates)
        for sec in candidates + [sec for sec in order[:MAX_HITS] if sec not in reranked]:
            score, unit = best.get(sec, (float(fused[sec]), -1))
            hits.append(SectionHit(sec, score if s.rerank else float(fused[sec]), float(fused[sec]), unit,
                                   float(unit_cos[unit]) if unit >= 0 else 0.0, float(lexical[sec])))
        coverage = index.lexical.coverage(text)
        reason = self.decide(coverage, guess)
        evidence = Evidence(coverage, hits[0].unit_cosine, guess, reason, tuple(t.label for t in answer_types))
        return Retrieval(text, hits, reason != "answered", evidence, vector, unit_scores, tuple(query_terms),
                         shortened)

    def _score_pool(self, vector: np.ndarray, chunk_lexical: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
        """Dense, lexical and fused scores of a candidate pool only (candidates.py), laid out like the
        exhaustive arrays (zeros outside the pool) so the reranking below reads them the same way."""
        index, s = self.index, self.settings
        ids, all_titles, title_range = pool(index, vector, chunk_lexical)
        # Chunks and units are stored by section: each pooled section's rows are one run, read in
        # the pool's order, so per-section maxima are reductions over consecutive runs.
        chunk_start, chunk_count = _runs(self._chunk_section, ids)
        unit_start, unit_count = _runs(self._unit_section, ids)
        chunks, units = _rows_of(chunk_start, chunk_count), _rows_of(unit_start, unit_count)
        chunk_cos = np.asarray(read_rows(index.chunk_matrix, chunk_start, chunk_count, chunks) @ vector,
                               dtype=np.float32)
        pool_unit_cos = np.asarray(read_rows(index.unit_matrix, unit_start, unit_count, units) @ vector,
                                   dtype=np.float32)
        best_chunk, lexical_local = _run_max(chunk_cos, chunk_count), _run_max(chunk_lexical[chunks], chunk_count)
        best_unit = _run_max(pool_unit_cos, unit_count)
        # The pool holds the sections of the lowest chunks too, so its dense minimum (what min-max
        # fusion divides by) is the corpus' (candidates.pool).
        fused_local = fuse(best_chunk + best_unit, lexical_local, s)
        if s.title_weight:
            # As in the exhaustive path: min-max over every title when the pool computed them all,
            # else over the ends the title scan found. Over the pool's titles alone, near-ties flipped
            # (top-1 equal to exhaustive scoring at 1,000 sections 0.975, 1.0 over every title).
            if all_titles is not None:
                titles = all_titles[ids]
                low, high = float(all_titles.min()), float(all_titles.max())
            else:
                titles = np.asarray(index.title_matrix[ids]) @ vector
                low, high = title_range if title_range is not None else (float("inf"), float("-inf"))
                low, high = min(low, float(titles.min())), max(high, float(titles.max()))
            spread = high - low
            fused_local = fused_local + s.title_weight * ((titles - low) / spread if spread > 0 else 0.0 * titles)
        unit_cos = np.zeros(len(self._unit_section), np.float32)
        unit_cos[units] = pool_unit_cos
        lexical = np.zeros(self._n_sections, np.float32)
        lexical[ids] = lexical_local
        fused = np.zeros(self._n_sections, fused_local.dtype)
        fused[ids] = fused_local
        return unit_cos, lexical, fused, [int(ids[i]) for i in _ranked(fused_local, MAX_HITS)]

    def _unit_scores(self, candidates: list[int], unit_cos: np.ndarray, fused: np.ndarray,
                     query_words: list[tuple[str, ...]], guess: TopicGuess,
                     answer_types: tuple[AnswerType, ...] = (), question: str = "",
                     factors: list[float] | None = None) -> dict[int, float]:
        """Score every unit of the candidate sections for how well it answers the question.

        Overlap counts the question's words a unit contains (by stem or prefix, so
        "vindeți" meets "vindem"), weighted by idf: "date" is on every line of a
        privacy policy, "vindem" on one.
        """
        s = self.settings
        ids = [u for c in candidates for u in self.section_units[c]]
        if not ids:
            return {}
        cos = _minmax(unit_cos[ids].astype(np.float64))
        weights = [max(self.index.lexical.idf(k) for k in keys) for keys in query_words]
        if factors is not None:
            weights = [w * f for w, f in zip(weights, factors, strict=True)]
        total = sum(weights) or 1.0
        topic = guess.topic if guess.topic not in (None, OFFTOPIC) else None
        # Only a wh-question asking for what IS done: "Folosiți Google Ads?" may well be answered "Nu folosim".
        folded_question = fold_key(question)
        asks_negated = bool(_NEGATION.search(folded_question)) or not _WH_QUESTION.match(folded_question)
        section_boost = {}   # once a candidate section, not once a unit
        for sec in candidates:
            boost = s.topic_boost if topic and topic in self.index.sections[sec].topics else 0.0
            if s.negated_title_penalty and not asks_negated and self._negated_title(sec):
                boost -= s.negated_title_penalty
            section_boost[sec] = boost
        scores = {}
        for j, unit in enumerate(ids):
            sec = int(self._unit_section[unit])
            have = self.unit_terms[unit]
            overlap = sum(w for keys, w in zip(query_words, weights, strict=True) if not have.isdisjoint(keys)) / total
            boost = section_boost[sec]
            if guess.details and s.unit_detail_boost and any(self._unit_on_topic(unit, d) for d in guess.details):
                boost += s.unit_detail_boost
            if answer_types and s.answer_type_boost and any(self._unit_has(unit, f"answer:{t.name}")
                                                            for t in answer_types):
                boost += s.answer_type_boost
            if topic and s.unit_topic_boost and self._unit_on_topic(unit, topic):
                boost += s.unit_topic_boost
            elif topic and s.unit_other_topic and self._unit_topics(unit):
                boost -= s.unit_other_topic
            scores[unit] = (s.unit_cosine * float(cos[j]) + s.unit_overlap * overlap
                            + s.section_prior * float(fused[sec]) + boost)
        return scores

    def _negated_title(self, section: int) -> bool:
        """A section titled by what is NOT done ("Date pe care NU le colectăm", "Ce NU folosim")."""
        return bool(_NEGATION.search(fold_key(self.index.sections[section].title)))

    def _unit_topics(self, unit: int) -> bool:
        """Whether the unit matches any topic's section cues."""
        return self.unit_cues[unit] & self._topic_mask != 0

    def _unit_on_topic(self, unit: int, topic: str) -> bool:
        """Whether the unit's own words match the section cues of a topic or a detail."""
        return self._unit_has(unit, f"topic:{topic}") or self._unit_has(unit, f"detail:{topic}")

    def _unit_has(self, unit: int, cue: str) -> bool:
        """Whether the unit matches a named cue (candidates.cue_matchers); False for a name there is not."""
        bit = self._cue_bit.get(cue)
        return bit is not None and bool(self.unit_cues[unit] >> bit & 1)


def _runs(owners: np.ndarray, sections: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First row and number of rows of each given section in a per-row owner array sorted by section."""
    start = np.searchsorted(owners, sections, side="left")
    return start, np.searchsorted(owners, sections, side="right") - start


def _rows_of(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Every row of the given runs, in order, as one array (a generator over ranges took 0.38 ms for the
    4,500 unit rows of 600 sections, this and a list of ranges 0.11 ms)."""
    ends = np.cumsum(count)
    rows: np.ndarray = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) + np.repeat(
        start - (ends - count), count)
    return rows


def _run_max(values: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The maximum of each consecutive run of `count` values (0 for an empty run): 0.02 ms for 4,500
    rows, where `np.maximum.at` over their sections' positions in the pool took 0.06 ms."""
    out = np.zeros(len(count), np.float32)
    filled = count > 0
    if len(values):
        out[filled] = np.maximum.reduceat(values, (np.cumsum(count) - count)[filled])
    return out


def _ranked(scores: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the best `limit` scores, best first, ties in index order (as a stable full sort)."""
    if len(scores) <= limit:
        return np.argsort(-scores, kind="stable")
    top = np.argpartition(-scores, limit)[:limit]
    return top[np.lexsort((top, -scores[top]))]


def _tune_for_latency() -> None:
    """One thread for a question's model run and matrix-vector products (threads.py), then
    `gc.freeze()`: the objects made by loading are never collected, so later collections
    walk only a question's own garbage (p95 3.6x lower at 20,000 sections).
    """
    threads.for_latency()
    gc.freeze()   # no gc.collect() first: it cost 0.16 s of a cold CLI ask, for a little garbage kept
