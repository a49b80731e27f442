"""Run a question set through the engine and measure what a user sees.

Question-set format (JSONL, one object a line; other fields are kept):
    {"id": str, "question": str, "expected_sections": [str], "answerable": bool,
     "answer_phrases": [str] (optional), "kind": str (optional), "split": "dev"|"test" (optional)}
A retrieved section matches an expected one when their titles are equal
ignoring case, surrounding whitespace, diacritics and markdown emphasis. A quote
shows the answer when it contains one of the answer phrases (same folding).

A question set is untrusted input (docs/hardening.md): it is read as a stream,
line by line on "\n" only (U+2028 and U+0085 are valid inside JSON strings), a
BOM is ignored, a line longer than MAX_LINE_CHARS or nested too deeply is one
line error, strings are sanitised (lone surrogates), and reading stops after
MAX_QUESTIONS questions so one upload cannot keep a core busy for long.
"""
from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from .answer import answer as ask_engine
from .engine import Engine
from .errors import QuestionError, RetrievalError
from .text import fold_key, sanitize

_EMPHASIS = re.compile(r"[*_`]+")
# Caps for a question set: real sets have at most ~100 questions of at most 77 characters and lines under
# 1 KB; a question costs 15-75 ms of model time, so 1,000 questions stay within about a minute.
MAX_LINE_CHARS = 20_000
MAX_QUESTIONS = 1_000
MAX_LINE_ERRORS = 100   # listed one by one; the rest are counted in one last error


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    expected_sections: list[str]
    answerable: bool
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def answer_phrases(self) -> list[str]:
        phrases = self.extra.get("answer_phrases") or []
        return [p for p in phrases if isinstance(p, str) and p.strip()] if isinstance(phrases, list) else []

    @property
    def kind(self) -> str:
        """'uncovered', 'offtopic' or the set's own style label ('core', 'nodiac', …)."""
        kind = str(self.extra.get("kind") or self.extra.get("style") or "")
        if kind.startswith("uncovered"):
            return "uncovered"
        if kind.startswith(("off-topic", "offtopic", "gibberish")):
            return "offtopic"
        return kind

    @property
    def split(self) -> str:
        """'dev' or 'test': the set's own label, else a stable half by id (tune on dev, report on test)."""
        label = self.extra.get("split")
        if label in ("dev", "test"):
            return str(label)
        import zlib

        return "dev" if zlib.crc32(self.id.encode()) % 2 == 0 else "test"


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"linia {self.line}: {self.message}"


@dataclass(frozen=True)
class Result:
    id: str
    question: str
    expected_sections: list[str]
    answerable: bool
    abstained: bool
    retrieved_sections: list[str]
    rank: int | None            # 1-based position of the first expected section, None if absent
    latency_ms: float
    error: str | None = None    # the question could not be asked (e.g. empty)
    kind: str = ""
    quotes: list[dict[str, Any]] = field(default_factory=list)   # what the user was shown: citation + quote
    answer_in_first: bool | None = None   # None: the question has no answer phrases
    answer_in_any: bool | None = None
    reason: str = ""
    topic: str | None = None
    message: str = ""

    def hit(self, k: int) -> bool:
        """An answerable question is hit at k when not abstained and an expected section is in the top k."""
        return self.answerable and not self.abstained and self.rank is not None and self.rank <= k

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("latency_ms")
        if data["error"] is None:
            data.pop("error")
        return data


@dataclass(frozen=True)
class Evaluation:
    summary: dict[str, Any]
    results: list[Result]
    errors: list[LineError]

    @property
    def failures(self) -> list[Result]:
        """Answerable questions not hit at 1, and unanswerable ones not abstained."""
        return [r for r in self.results if (r.answerable and not r.hit(1)) or (not r.answerable and not r.abstained)]

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "results": [r.to_json() for r in self.results],
                "errors": [str(e) for e in self.errors]}


def parse_question(line: str) -> Question:
    """One JSONL line -> Question; ValueError with a Romanian reason otherwise."""
    if len(line) > MAX_LINE_CHARS:
        raise ValueError(f"linie prea lungă (peste {MAX_LINE_CHARS} de caractere)")
    try:
        data = json.loads(line.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"JSON invalid ({exc.msg})") from None
    except RecursionError:   # "[[[[…]]]]": the parser's recursion, not the set, is what breaks
        raise ValueError("JSON imbricat prea adânc") from None
    if not isinstance(data, dict):
        raise ValueError("se aștepta un obiect JSON")
    missing = [k for k in ("id", "question", "expected_sections", "answerable") if k not in data]
    if missing:
        raise ValueError("lipsesc câmpurile: " + ", ".join(missing))
    if isinstance(data["id"], bool) or not isinstance(data["id"], str | int):
        raise ValueError("„id” trebuie să fie un text sau un număr")
    if not isinstance(data["question"], str) or not data["question"].strip():
        raise ValueError("„question” trebuie să fie un text nevid")
    sections = data["expected_sections"]
    if not isinstance(sections, list) or not all(isinstance(s, str) for s in sections):
        raise ValueError("„expected_sections” trebuie să fie o listă de titluri")
    if not isinstance(data["answerable"], bool):
        raise ValueError("„answerable” trebuie să fie true sau false")
    if data["answerable"] and not sections:
        raise ValueError("o întrebare cu răspuns are nevoie de cel puțin o secțiune așteptată")
    extra = {k: _clean(v) for k, v in data.items() if k not in ("id", "question", "expected_sections", "answerable")}
    return Question(sanitize(str(data["id"])), sanitize(data["question"]), [sanitize(s) for s in sections],
                    data["answerable"], extra)


def _clean(value: Any) -> Any:
    """Strings of the fields the evaluation reads (answer phrases, kind, split) sanitised; others kept as is."""
    if isinstance(value, str):
        return sanitize(value)
    if isinstance(value, list):
        return [sanitize(v) if isinstance(v, str) else v for v in value]
    return value


def parse_questions(lines: Iterable[str]) -> tuple[list[Question], list[LineError]]:
    """Parse every line; a bad line is reported with its number and the rest still count.

    Give it lines split on "\n" only (`split_lines`, or `read_questions` for a file):
    `str.splitlines` also splits at U+2028 and U+0085, which JSON allows inside strings.
    """
    questions: list[Question] = []
    errors: list[LineError] = []
    dropped = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(questions) >= MAX_QUESTIONS:
            errors.append(LineError(number, f"setul are peste {MAX_QUESTIONS} de întrebări; "
                                            f"am citit doar primele {MAX_QUESTIONS}"))
            break
        try:
            questions.append(parse_question(line))
        except ValueError as exc:
            if len(errors) < MAX_LINE_ERRORS:
                errors.append(LineError(number, str(exc)))
            else:
                dropped += 1
    if dropped:
        errors.append(LineError(errors[-1].line, f"și încă {dropped} linii cu probleme după aceasta"))
    return questions, errors


def split_lines(text: str) -> list[str]:
    """Lines of a JSONL text: split on "\n" only (a trailing "\r" dropped), a leading BOM ignored."""
    return [line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")]


def _stream(handle: IO[str]) -> Iterator[str]:
    """Lines of an open text file, each read at most MAX_LINE_CHARS + 1 at a time (memory stays bounded)."""
    while True:
        line = handle.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        if not line.endswith("\n") and len(line) > MAX_LINE_CHARS:
            while True:   # skip the rest of an over-long line without keeping it (it is reported as too long)
                more = handle.readline(1 << 16)
                if not more or more.endswith("\n"):
                    break
        yield line.removesuffix("\n").removesuffix("\r")


def read_questions(handle: IO[str], name: str) -> tuple[list[Question], list[LineError]]:
    """Parse a question set from an open text file (opened with newline="\n"), streaming."""
    try:
        return parse_questions(_stream(handle))
    except UnicodeDecodeError:
        raise RetrievalError(f"{name}: fișierul nu este text UTF-8") from None


def load_questions(path: Path) -> tuple[list[Question], list[LineError]]:
    path = Path(path)
    if not path.is_file():
        raise RetrievalError(f"Fișierul cu întrebări nu există: {path}")
    try:
        with open(path, encoding="utf-8-sig", newline="\n") as handle:
            return read_questions(handle, path.name)
    except OSError as exc:
        raise RetrievalError(f"Fișierul cu întrebări nu poate fi citit: {path} ({exc.strerror})") from None


SHOWN = 3  # quotes a visitor sees (the app's and the CLI's default k): what "answer in any quote" reads


def title_key(title: str) -> str:
    return fold_key(_EMPHASIS.sub("", title))


def first_match(expected: list[str], retrieved: list[str]) -> int | None:
    keys = {title_key(s) for s in expected}
    return next((i + 1 for i, title in enumerate(retrieved) if title_key(title) in keys), None)


def contains_phrase(text: str, phrases: list[str]) -> bool:
    """Does the text show one of the phrases (ignoring case, spacing, diacritics, emphasis)?"""
    folded = fold_key(text)
    return any(title_key(p) in folded for p in phrases)


def run_question(engine: Engine, question: Question, k: int) -> Result:
    started = time.perf_counter()
    try:
        answer = ask_engine(engine, question.question, k=k)
    except QuestionError as exc:
        return Result(question.id, question.question, question.expected_sections, question.answerable,
                      True, [], None, 0.0, str(exc), question.kind)
    latency = (time.perf_counter() - started) * 1000
    titles = [q.section for q in answer.quotes]
    phrases = question.answer_phrases
    shown = [{"citation": q.citation, "quote": q.quote} for q in answer.quotes[:SHOWN]]
    in_first = in_any = None
    if phrases:
        visible = [] if answer.abstained else [q["quote"] for q in shown]
        in_first = bool(visible) and contains_phrase(visible[0], phrases)
        in_any = any(contains_phrase(v, phrases) for v in visible)
    return Result(question.id, question.question, question.expected_sections, question.answerable,
                  answer.abstained, titles, first_match(question.expected_sections, titles), latency, None,
                  question.kind, shown, in_first, in_any, answer.reason, answer.evidence.get("topic"),
                  answer.message)


OFFTOPIC_KINDS = ("offtopic",)


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def summarize(results: list[Result], section_titles: list[str], k: int) -> dict[str, Any]:
    """Every figure the CLI, the report and the app show."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    abstained = [r for r in results if r.abstained]
    phrased = [r for r in answerable if r.answer_in_first is not None]
    answered = [r for r in results if not r.abstained]

    def share(part: float, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    reached = Counter(r.retrieved_sections[0] for r in answerable if r.hit(1))
    expected = Counter(title_key(s) for r in answerable for s in r.expected_sections)
    coverage = [{"section": t, "questions_reaching": reached.get(t, 0),
                 "questions_expecting": expected.get(title_key(t), 0)}
                for t in section_titles]
    latencies = [r.latency_ms for r in results if r.error is None]
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "k": k,
        **{f"hit@{n}": share(sum(r.hit(n) for r in answerable), len(answerable)) for n in (1, 3, 5)},
        "mrr": share(sum(1 / r.rank for r in answerable if r.rank is not None and r.hit(len(r.retrieved_sections))),
                     len(answerable)),
        "abstention_precision": share(sum(not r.answerable for r in abstained), len(abstained)),
        "abstention_recall": share(sum(r.abstained for r in unanswerable), len(unanswerable)),
        "answerable_abstained": share(sum(r.abstained for r in answerable), len(answerable)),
        "uncovered_abstained": share(sum(r.abstained for r in results if r.kind == "uncovered"),
                                     sum(r.kind == "uncovered" for r in results)),
        "offtopic_abstained": share(sum(r.abstained for r in results if r.kind in OFFTOPIC_KINDS),
                                    sum(r.kind in OFFTOPIC_KINDS for r in results)),
        "answer_in_first_quote": share(sum(bool(r.answer_in_first) for r in phrased), len(phrased)),
        "answer_in_any_quote": share(sum(bool(r.answer_in_any) for r in phrased), len(phrased)),
        "first_quote_chars": _mean([len(r.quotes[0]["quote"]) for r in answered if r.quotes]),
        "answer_chars": _mean([sum(len(q["quote"]) for q in r.quotes) for r in answered if r.quotes]),
        "coverage": coverage,
        "unreached_sections": [c["section"] for c in coverage if c["questions_reaching"] == 0],
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2) if latencies else None,
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 2) if latencies else None,
    }


def evaluate(engine: Engine, questions: list[Question], k: int = 5, errors: list[LineError] | None = None,
             progress: Callable[[int, int], None] | None = None,
             stop: Callable[[], bool] | None = None) -> Evaluation:
    """Ask every question; k sections are kept per question (at least 5 for hit@5).

    `stop()` is checked before each question: when it says so, the questions asked
    so far are summarised (`summary["stopped"]` is how many were left unasked).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise QuestionError("Numărul de secțiuni (k) trebuie să fie un număr întreg, cel puțin 1.")
    results = []
    for n, question in enumerate(questions, start=1):
        if stop is not None and stop():
            break
        results.append(run_question(engine, question, max(k, 5)))
        if progress:
            progress(n, len(questions))
    trimmed = [Result(**{**asdict(r), "retrieved_sections": r.retrieved_sections[:k],
                         "rank": r.rank if r.rank is not None and r.rank <= k else None}) for r in results]
    # hit@5 is measured on the full five, whatever k the caller shows.
    summary = summarize(results, [s.title for s in engine.index.sections], k)
    summary["k"] = k
    summary["stopped"] = len(questions) - len(results)
    summary["unknown_expected_sections"] = unknown_sections(engine, questions)
    return Evaluation(summary, trimmed, list(errors or []))


def unknown_sections(engine: Engine, questions: list[Question]) -> list[str]:
    """Expected section titles no page has: a typo or a renamed heading, counted as misses otherwise silently."""
    known = {title_key(s.title) for s in engine.index.sections}
    return sorted({s for q in questions for s in q.expected_sections if title_key(s) not in known})


@dataclass(frozen=True)
class PolicyRun:
    """One policy's evaluation inside a multi-policy run."""

    name: str
    evaluation: Evaluation


def combined_summary(runs: list[PolicyRun], k: int) -> dict[str, Any]:
    """The figures over every question of every policy (per-section coverage left to each policy)."""
    results = [r for run in runs for r in run.evaluation.results]
    summary = summarize(results, [], k)
    summary.pop("coverage")
    summary.pop("unreached_sections")
    summary["policies"] = len(runs)
    return summary


def select_split(questions: list[Question], split: str | None) -> list[Question]:
    return questions if split in (None, "all") else [q for q in questions if q.split == split]


def policy_folders(folder: Path) -> list[Path]:
    """Subfolders laid out like ../shared/policies: `<slug>/pages/*.md` and `<slug>/questions.jsonl`."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if (p / "pages").is_dir() and (p / "questions.jsonl").is_file())
