"""Quote choice only: does the FIRST quote show the answer? Retrieval is done once, answers many times.

    PYTHONPATH=bench:. .venv/bin/python bench/quotes.py dev|test|fresh [--misses] ['[{"RUNNER_UP_GAP": 1.0}, ...]']

Same sets as bench/calibrate.py (ONedu + every policy in ../shared/policies, each with our
eval/policies/<slug>.jsonl). Section ranking is not touched here, so hit@k cannot move:
each JSON object is a variant (module constants of retrieval.answer), scored on the same
retrievals; the figures are answer-in-first-quote, answer-in-any-quote (3 quotes) and the average
characters of the first quote and of the whole answer, overall and per policy.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import retrieval
import retrieval.answer as answer_module
from calibrate import policy_sets
from retrieval.engine import Engine, Retrieval
from retrieval.evaluation import Question, contains_phrase, load_questions, select_split, title_key

INDEXES = Path("/tmp/quotes-index")


def main() -> None:
    split = sys.argv[1] if len(sys.argv) > 1 else "dev"
    misses = "--misses" in sys.argv
    variants = next((json.loads(a) for a in sys.argv[2:] if a.startswith("[")), [{}])
    loaded = []
    for name, pages, files in policy_sets(split):
        engine = retrieval.open_engine(INDEXES / name, pages)
        questions = [q for f in files if f.is_file() for q in load_questions(f)[0]]
        chosen = questions if split == "fresh" else select_split(questions, split)
        asked = [(q, engine.retrieve(q.question)) for q in chosen
                 if q.answerable and q.answer_phrases]
        loaded.append((name, engine, asked))
    defaults = {key: getattr(answer_module, key) for v in variants for key in v}
    for variant in variants:
        for key, value in {**defaults, **variant}.items():
            setattr(answer_module, key, value)
        score(split, variant, loaded, misses)


def score(split: str, variant: dict[str, object], loaded: list[tuple[str, Engine, list[tuple[Question, Retrieval]]]],
          misses: bool) -> None:
    total = first = anyq = 0
    chars_first: list[int] = []
    chars_all: list[int] = []
    per = []
    for name, engine, asked in loaded:
        n = f1 = 0
        for q, got in asked:
            n += 1
            if got.abstained:
                continue
            shown = answer_module.answer(engine, q.question, k=3, retrieval=got).quotes
            ok = bool(shown) and contains_phrase(shown[0].quote, q.answer_phrases)
            f1 += ok
            anyq += any(contains_phrase(s.quote, q.answer_phrases) for s in shown)
            chars_first.append(len(shown[0].quote) if shown else 0)
            chars_all.append(sum(len(s.quote) for s in shown))
            if misses and not ok:
                top = engine.index.sections[got.hits[0].section].title
                right = title_key(top) in {title_key(t) for t in q.expected_sections}
                print(f"-- {name} {q.id} {'RIGHT-SECTION' if right else 'WRONG-SECTION'} {q.question}\n"
                      f"   phrases: {q.answer_phrases}\n   first: {shown[0].quote if shown else ''!r}")
        total += n
        first += f1
        per.append(f"{name[:8]}:{f1}/{n}")
    print(variant, f"{split}: first {first / total:.3f} ({first}/{total}) any {anyq / total:.3f} "
          f"first_chars {sum(chars_first) / len(chars_first):.0f} answer_chars {sum(chars_all) / len(chars_all):.0f}")
    print("   ", " ".join(per), flush=True)


if __name__ == "__main__":
    main()
