"""Hybrid retrieval over sections, with an evidence-based decision to abstain.

Scoring, per section (the unit of citation):
  dense   = best chunk cosine + best sentence cosine (e5)
  lexical = best chunk BM25 over folded stems and prefixes
  fused   = w * minmax(dense) + (1 - w) * lexical / max(lexical)
Weighted fusion of normalised scores beat RRF and either signal alone on our
question set; `bench/fusion.py` reproduces the comparison.

Abstention: e5 cosines sit in a narrow band (0.75-0.93) for on- and off-topic
questions alike, so a cosine threshold alone cannot decide. The stronger signal
is lexical coverage: the share of the question's content words that the policy
uses at all (off-topic questions ask with words it never says). We abstain when
coverage is very low, or when it is low and the best sentence is not close
either. The thresholds are calibrated on the dev half of eval/questions.jsonl
(`bench/calibrate.py`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .embeddings import Embedder, get_embedder
from .errors import QuestionError
from .lexical import terms
from .text import model_text
from .store import LoadedIndex

MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class Settings:
    """Tunable knobs; defaults are what bench/fusion.py and bench/calibrate.py chose."""

    fusion: str = "weighted"      # "weighted" | "rrf" | "dense" | "lexical"
    dense_weight: float = 0.7     # weighted fusion: share of the dense score
    min_coverage: float = 0.05    # abstain when fewer of the question's words occur in the policy,
    weak_coverage: float = 0.7    # ... or fewer than this
    min_dense: float = 0.82       # ... and the best sentence's cosine is below this


@dataclass(frozen=True)
class SectionHit:
    section: int
    score: float     # fused, in [0, 1] for weighted fusion
    dense: float     # best sentence cosine in this section (raw, for staff and calibration)
    lexical: float   # best chunk BM25 (raw)


@dataclass(frozen=True)
class Evidence:
    """Why the engine answered or abstained."""

    coverage: float  # share of the question's content words the policy uses
    dense: float     # cosine of the best sentence of the best section


@dataclass(frozen=True)
class Retrieval:
    question: str
    hits: list[SectionHit]   # all sections, best first
    abstained: bool
    evidence: Evidence
    query_vector: np.ndarray = field(repr=False)
    query_terms: tuple[str, ...] = ()


def validate_question(question: str) -> str:
    """The question, trimmed; a QuestionError with a clear Romanian message otherwise."""
    if not isinstance(question, str):
        raise QuestionError("Întrebarea trebuie să fie text.")
    text = " ".join(question.split())
    if not text:
        raise QuestionError("Întrebarea este goală: scrieți ce doriți să aflați despre datele dvs.")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"Întrebarea este prea lungă ({len(text)} caractere; cel mult {MAX_QUESTION_CHARS}). "
            "Scrieți doar întrebarea, pe scurt."
        )
    return text


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

    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings = Settings()) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        n = len(index.sections)
        self._chunk_section = np.array([c.section for c in index.chunks], dtype=np.int64)
        self._unit_section = np.array([u.section for u in index.units], dtype=np.int64)
        self._n_sections = n
        # Per-unit facts the answer step needs on every question, computed once here.
        self.unit_terms = [frozenset(terms(u.text)) for u in index.units]
        self.section_units: list[list[int]] = [[] for _ in range(n)]
        self.list_items: dict[int, list[int]] = {}
        for i, unit in enumerate(index.units):
            self.section_units[unit.section].append(i)
            if unit.intro is not None:
                self.list_items.setdefault(unit.intro, []).append(i)

    @classmethod
    def open(cls, index_dir: Path, settings: Settings = Settings()) -> "Engine":
        from .store import load_index

        loaded = load_index(index_dir)
        return cls(loaded, get_embedder(loaded.manifest["model"]), settings)

    def with_settings(self, **changes) -> "Engine":
        """Same index and model, other knobs (used by the benchmarks)."""
        engine = Engine.__new__(Engine)
        engine.__dict__.update(self.__dict__)
        engine.settings = replace(self.settings, **changes)
        return engine

    def should_abstain(self, evidence: Evidence) -> bool:
        s = self.settings
        return evidence.coverage < s.min_coverage or (
            evidence.coverage < s.weak_coverage and evidence.dense < s.min_dense)

    def _per_section_max(self, values: np.ndarray, owners: np.ndarray) -> np.ndarray:
        out = np.full(self._n_sections, -np.inf, dtype=np.float32)
        np.maximum.at(out, owners, values)
        out[np.isinf(out)] = 0.0
        return out

    def retrieve(self, question: str) -> Retrieval:
        """Score every section for the question and decide whether to abstain."""
        text = validate_question(question)
        vector = self.embedder.embed_queries([model_text(text)])[0]
        index = self.index

        chunk_scores, chunk_ids = index.chunk_vectors.search(vector[None, :], index.chunk_vectors.ntotal)
        chunk_cos = np.zeros(len(index.chunks), dtype=np.float32)
        chunk_cos[chunk_ids[0]] = chunk_scores[0]
        unit_cos = index.unit_matrix @ vector
        best_chunk = self._per_section_max(chunk_cos, self._chunk_section)
        best_unit = self._per_section_max(unit_cos, self._unit_section)
        dense = best_chunk + best_unit

        query_terms = terms(text)
        lexical = self._per_section_max(index.lexical.scores(query_terms), self._chunk_section)
        fused = fuse(dense, lexical, self.settings)

        order = np.argsort(-fused, kind="stable")
        hits = [SectionHit(int(i), float(fused[i]), float(best_unit[i]), float(lexical[i])) for i in order]
        top = hits[0].section
        evidence = Evidence(index.lexical.coverage(text), float(best_unit[top]))
        abstained = self.should_abstain(evidence)
        return Retrieval(text, hits, abstained, evidence, vector, tuple(query_terms))
