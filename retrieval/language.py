"""Language resources as data: stopwords, stemmer, sentence ends, messages, starter questions.

Everything that makes the library Romanian lives in `resources/<code>/language.yaml`
(and the topic taxonomy beside it), in the way bm25s takes its stopwords and
stemmer as parameters rather than wiring a language in: the pure text functions
take a `Language`, defaulting to Romanian, and the index records the code and a
digest of the file so an edit to the resources rebuilds it.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import Stemmer
import yaml
from stop_words import get_stop_words

from .errors import RetrievalError

# libyaml's safe loader when PyYAML has it (its wheels do): the 70 KB taxonomy in 5 ms, not 62 ms,
# on every cold start; the same data (the fast tier loads every resource through it).
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

RESOURCES = Path(__file__).resolve().parent / "resources"
DEFAULT_LANGUAGE = "ro"
MESSAGE_KEYS = ("not_covered", "offtopic", "unknown", "contact_line", "no_contact_line", "shortened")


@dataclass(frozen=True)
class AnswerType:
    """A kind of question and the form of the phrase that answers it ("cât timp?" -> "30 de zile").

    Both patterns match folded text. Classic question answering's expected answer type, kept
    to the kinds whose answers have a form a pattern can see."""

    name: str
    label: str                 # shown in explanations: "o durată"
    question: re.Pattern[str]
    answer: re.Pattern[str]
    topic: str = ""            # the topic this form belongs to, preferred ...
    over: tuple[str, ...] = ()  # ... over these topics when a question cues it with one of them
    unless: tuple[str, ...] = ()  # not looked for when the question is about one of these topics


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    stemmer_name: str                  # PyStemmer (Snowball) algorithm
    stopwords: frozenset[str]          # folded
    sentence_end: re.Pattern[str]      # split point between two sentences
    messages: dict[str, str]           # the library's own sentences (see MESSAGE_KEYS)
    examples: tuple[str, ...]          # starter questions for a chat page
    digest: str                        # sha256 of language.yaml: recorded in the index
    answer_types: tuple[AnswerType, ...] = ()
    synonyms: tuple[tuple[str, ...], ...] = ()   # folded words a question's word also stands for
    conditional_clause: re.Pattern[str] | None = None   # a leading "if/when …," clause (folded text)
    phrases: tuple[tuple[re.Pattern[str], str], ...] = ()   # (folded phrase, the words it stands for)
    trailing_condition: re.Pattern[str] | None = None   # a closing "if/when …" clause (folded text)

    @cached_property
    def related_stems(self) -> dict[str, tuple[str, ...]]:
        """Stem -> the stems of its synonyms (language.yaml `synonyms`), for a question's words only."""
        out: dict[str, set[str]] = {}
        for group in self.synonyms:
            group_stems = {stem for word in group for stem in self.stem_words(word.split())}
            for stem in group_stems:
                out.setdefault(stem, set()).update(group_stems - {stem})
        return {stem: tuple(sorted(others)) for stem, others in out.items()}

    def plain_words(self, folded_question: str) -> str:
        """The question with each of `phrases` replaced by the words a policy would use (lexical side only)."""
        for pattern, means in self.phrases:
            folded_question = pattern.sub(means, folded_question)
        return folded_question

    def main_clause(self, folded_question: str) -> str:
        """The question without a leading condition ("daca imi sterg contul, mai pastrati …" -> "mai pastrati …")."""
        if self.conditional_clause is None:
            return folded_question
        return self.conditional_clause.sub("", folded_question, count=1)

    def asked_part(self, folded_question: str) -> str:
        """The question without its conditions, leading or closing ("unde ma plang daca …" -> "unde ma plang")."""
        main = self.main_clause(folded_question)
        return self.trailing_condition.sub("", main, count=1) if self.trailing_condition else main

    def answer_types_asked(self, folded_question: str) -> tuple[AnswerType, ...]:
        return tuple(t for t in self.answer_types if t.question.search(folded_question))

    @property
    def folder(self) -> Path:
        return RESOURCES / self.code

    def stem_words(self, words: list[str]) -> list[str]:
        stemmed: list[str] = _stemmer(self.stemmer_name).stemWords(words)  # PyStemmer ships no type hints
        return stemmed

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "digest": self.digest}


@lru_cache(maxsize=8)
def _stemmer(name: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(name)


def sentence_end_pattern(upper: str, abbreviations: list[str]) -> re.Pattern[str]:
    """Split after . ! ? … and spaces when an upper-case letter, digit or quote follows, but never
    after an abbreviation ("nr. 5").

    Hand-written because no Romanian sentence splitter ships offline; lower-case
    abbreviations ("dvs.") need no entry, being followed by lower case in real pages.
    Each abbreviation is its own fixed-width look-behind, which `re` requires.
    """
    guards = []
    for abbr in abbreviations:
        escaped = re.escape(abbr) + r"\."
        if abbr[:1].isalpha() and abbr[1:].islower():
            escaped = f"[{abbr[0].upper()}{abbr[0].lower()}]" + re.escape(abbr[1:]) + r"\."
        guards.append(rf"(?<!\b{escaped})")
    return re.compile(r"(?<=[.!?…])" + "".join(guards) + rf"[ \t]+(?=[\"„«(]?[{upper}])")


@lru_cache(maxsize=8)
def load_language(code: str = DEFAULT_LANGUAGE) -> Language:
    """Read `resources/<code>/language.yaml`; a RetrievalError says what is missing."""
    from .text import fold  # text.py takes its defaults from here: import at call time

    if not re.fullmatch(r"[a-z]{2,3}", code or ""):
        raise RetrievalError(f"Cod de limbă invalid: {code!r}")
    path = RESOURCES / code / "language.yaml"
    try:
        raw = path.read_bytes()
        data: Any = yaml.load(raw, Loader=SAFE_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise RetrievalError(f"Resursele limbii „{code}” ({path}) nu pot fi citite: {type(exc).__name__}") from None
    try:
        base = get_stop_words(str(data["stopwords_package"])) if data.get("stopwords_package") else []
        stop = frozenset(fold(str(w)) for w in [*base, *(data.get("extra_stopwords") or [])])
        messages = {key: str(data["messages"][key]) for key in MESSAGE_KEYS}
        language = Language(str(data["code"]), str(data["name"]), str(data["stemmer"]), stop,
                            sentence_end_pattern(str(data["sentence_upper"]),
                                                 [str(a) for a in data.get("abbreviations") or []]),
                            messages, tuple(str(e) for e in data.get("examples") or ()),
                            hashlib.sha256(raw).hexdigest(),
                            tuple(AnswerType(str(t["name"]), str(t.get("label") or t["name"]),
                                             re.compile(str(t["question"])), re.compile(str(t["answer"])),
                                             str(t.get("topic") or ""),
                                             topic_ids(t.get("over"), f"{path}, {t['name']}"),
                                             topic_ids(t.get("unless"), f"{path}, {t['name']}", "unless"))
                                  for t in data.get("answer_types") or ()),
                            tuple(tuple(fold(str(w)) for w in group) for group in data.get("synonyms") or ()),
                            re.compile(str(data["conditional_clause"])) if data.get("conditional_clause") else None,
                            tuple((re.compile(str(p["ask"])), str(p["means"])) for p in data.get("phrases") or ()),
                            re.compile(str(data["trailing_condition"])) if data.get("trailing_condition") else None)
        _stemmer(language.stemmer_name)
    except RetrievalError:
        raise   # already says which file and what is wrong (topic_ids)
    except (KeyError, TypeError, AttributeError, re.error) as exc:
        raise RetrievalError(f"{path}: resurse incomplete sau invalide ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # PyStemmer/stop-words raise their own types for an unknown language
        raise RetrievalError(f"{path}: limbă necunoscută pentru stemmer sau stopwords ({exc})") from None
    return language


def topic_ids(value: Any, where: str, field: str = "over") -> tuple[str, ...]:
    """Topic ids given as a YAML list (`over`, `unless` in topics.yaml and language.yaml); a bare
    string would read as its letters and silently never apply, so it is an error."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RetrievalError(f"{where}: `{field}` trebuie să fie o listă de teme")
    return tuple(str(v) for v in value)


THRESHOLD_KEYS = ("topic_similarity", "topic_margin", "uncovered_margin", "offtopic_margin", "min_coverage")


def calibrated_thresholds(model: str, code: str = DEFAULT_LANGUAGE) -> dict[str, float] | None:
    """The abstention thresholds calibrated for this model and language, or None when there are none."""
    path = RESOURCES / code / "calibration.yaml"
    try:
        data: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
        entry = data.get(model)
        if not isinstance(entry, dict):
            return None
        return {key: float(entry[key]) for key in THRESHOLD_KEYS if key in entry}
    except (OSError, yaml.YAMLError, AttributeError, TypeError, ValueError):
        return None


def default_language() -> Language:
    return load_language(DEFAULT_LANGUAGE)
