"""Follow-up questions: "și în ce țări?" after "cui partajați datele mele?".

A conversation's short second question often names no topic of its own; asked
alone it is answered by luck of vocabulary. `contextualize` decides whether a
question continues the previous one and, if so, gives the query to retrieve
with: the previous question's query followed by the new question.

The decision is lexical, written by hand because it is three rules a person can
read: a follow-up is short (at most `MAX_WORDS` words) and either opens with a
connective ("și", "dar", "iar", "doar", "de ce" …), points back ("le", "acolo",
"asta" …) or has at most one content word. A short question that names its own
topic ("Vindeți datele mele?") stands alone. Measured on eval/followups.jsonl
(40 pairs, 25 follow-ups, 15 new topics; `python -m retrieval.followup
eval/followups.jsonl`): see README, "Follow-up questions".
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine import MAX_QUESTION_CHARS, Engine, validate_question
from .errors import RetrievalError
from .evaluation import first_match
from .text import content_words, words

MAX_WORDS = 6            # a longer question carries its own context
MAX_CONTEXT_CHARS = 600  # of the previous query kept in front of the follow-up
# Folded openings of a question that continues the previous one.
CONNECTIVES = ("si", "dar", "iar", "doar", "numai", "sau", "de ce", "ce zici", "ce ziceti", "ce spuneti",
               "cum ramane", "in ce", "la fel")
# Folded words that point back at what the previous question was about.
REFERENCES = frozenset({"le", "il", "o", "ii", "lor", "ei", "ele", "ea", "el", "asta", "acesta", "aceasta",
                        "acestea", "acestia", "acolo", "atunci", "aceleasi", "acelasi", "respectiv", "respectivele"})
# Openings that start a question of its own, even after a connective ("și cum mă dezabonez …?").
_OWN_TOPIC_MIN_CONTENT = 3


@dataclass(frozen=True)
class FollowUp:
    question: str      # as the person typed it
    query: str         # what to retrieve with: the question itself, or the previous query + the question
    continues: bool    # True when the question was read as a continuation


def continues(question: str, previous: str | None) -> bool:
    """Does `question` continue `previous`? Short, and opens with a connective, points back, or names no topic."""
    if not previous or not previous.strip():
        return False
    tokens = words(question)
    if not tokens or len(tokens) > MAX_WORDS:
        return False
    text = " ".join(tokens)
    content = content_words(question)
    if len(content) >= _OWN_TOPIC_MIN_CONTENT:
        return False
    opens = any(text == c or text.startswith(c + " ") for c in CONNECTIVES)
    points_back = any(t in REFERENCES for t in tokens)
    return opens or points_back or len(content) <= 1


def contextualize(question: str, previous: str | None = None) -> FollowUp:
    """The query to retrieve with for `question`, given the previous turn's query (None: a first question)."""
    text = validate_question(question)
    if not continues(text, previous):
        return FollowUp(text, text, False)
    context = " ".join((previous or "").split())[-MAX_CONTEXT_CHARS:]
    query = f"{context} {text}"[-MAX_QUESTION_CHARS:]
    return FollowUp(text, query, True)


# ---------------------------------------------------------------- measurement

@dataclass(frozen=True)
class Pair:
    id: str
    previous: str
    question: str
    expected_sections: list[str]
    kind: str          # "followup" | "new_topic"


def load_pairs(path: Path) -> list[Pair]:
    """JSONL: {"id", "previous", "question", "expected_sections", "kind"}; a bad line is an error naming it."""
    pairs = []
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RetrievalError(f"{path}: fișierul nu poate fi citit ({exc.__class__.__name__}).") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            pairs.append(Pair(str(data["id"]), str(data["previous"]), str(data["question"]),
                              [str(s) for s in data["expected_sections"]], str(data.get("kind", "followup"))))
        except (ValueError, KeyError, TypeError) as exc:
            raise RetrievalError(f"{path}, linia {number}: perechea nu poate fi citită ({exc}).") from None
    return pairs


def _top(engine: Engine, query: str) -> list[str]:
    hits = engine.retrieve(query).hits
    return [engine.index.sections[h.section].title for h in hits[:5]]


def measure(engine: Engine, pairs: Iterable[Pair]) -> dict[str, Any]:
    """How often the expected section comes first: question alone, always joined, and as `contextualize` decides."""
    modes = ("alone", "always_joined", "contextualized")
    counts: dict[str, dict[str, int]] = {}
    decided = {"followup": 0, "new_topic": 0}
    rows = []
    for pair in pairs:
        joined = f"{pair.previous} {pair.question}"
        chosen = contextualize(pair.question, pair.previous)
        decided[pair.kind] = decided.get(pair.kind, 0) + int(chosen.continues)
        row: dict[str, Any] = {"id": pair.id, "kind": pair.kind, "continues": chosen.continues}
        for mode, query in zip(modes, (pair.question, joined, chosen.query), strict=True):
            rank = first_match(pair.expected_sections, _top(engine, query))
            first = rank == 1
            bucket = counts.setdefault(pair.kind, {m: 0 for m in modes} | {"pairs": 0})
            bucket[mode] += int(first)
            row[mode] = first
        counts[pair.kind]["pairs"] += 1
        rows.append(row)
    total = {m: sum(c[m] for c in counts.values()) for m in (*modes, "pairs")}
    return {"by_kind": counts, "all": total, "read_as_followup": decided, "rows": rows}


def format_measure(result: dict[str, Any]) -> str:
    lines = ["Secțiunea corectă pe locul 1:",
             f"{'tip':<12}{'perechi':>8}{'singură':>10}{'mereu unită':>14}{'contextualizată':>18}"
             f"{'citită ca continuare':>22}"]
    for kind, c in [*sorted(result["by_kind"].items()), ("toate", result["all"])]:
        n = c["pairs"]
        read = result["read_as_followup"].get(kind, sum(result["read_as_followup"].values()))
        lines.append(f"{kind:<12}{n:>8}{c['alone']:>6}/{n:<3}{c['always_joined']:>10}/{n:<3}"
                     f"{c['contextualized']:>14}/{n:<3}{read:>18}/{n:<3}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m retrieval.followup PAIRS.jsonl [--index DIR] [--json]`."""
    import argparse

    from . import DEFAULT_INDEX, open_engine

    parser = argparse.ArgumentParser(prog="python -m retrieval.followup",
                                     description="Măsoară întrebările de continuare pe un set de perechi.")
    parser.add_argument("pairs")
    parser.add_argument("--index", default=str(DEFAULT_INDEX))
    parser.add_argument("--corpus", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        engine = open_engine(Path(args.index), None if args.corpus is None else Path(args.corpus))
        result = measure(engine, load_pairs(Path(args.pairs)))
    except RetrievalError as exc:
        print(f"Eroare: {exc}")
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=1) if args.json else format_measure(result), end="\n"
          if args.json else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
