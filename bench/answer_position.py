"""Where the answer sits in the first quote: what a visitor reads first.

    .venv/bin/python bench/answer_position.py      # dev + test + the read blind sets (bench/calibrate.py)

For every answerable question with answer phrases, the character offset (folded text) at which the
first answer phrase starts in the first quote; prints how many start within 1, 100 and 200
characters and how many appear anywhere in it. "Answer in first quote" (the eval column) counts the
last of these only.
"""
from __future__ import annotations

import calibrate
import retrieval
from retrieval.evaluation import load_questions, title_key
from retrieval.text import fold_key


def positions() -> list[int | None]:
    found: list[int | None] = []
    for split in ("dev", "fresh"):
        for name, pages, files in calibrate.policy_sets(split):
            engine = retrieval.open_engine(calibrate.INDEXES / name, pages)
            for q in (q for f in files if f.is_file() for q in load_questions(f)[0]):
                if not (q.answerable and q.answer_phrases):
                    continue
                answer = retrieval.ask(engine, q.question, k=3)
                first = fold_key(answer.quotes[0].quote) if answer.quotes and not answer.abstained else ""
                found.append(min((first.find(title_key(p)) for p in q.answer_phrases if title_key(p) in first),
                                 default=None))
    return found


def main() -> None:
    found = positions()
    for limit in (1, 100, 200):
        print(f"answer starts within {limit} characters: {sum(1 for p in found if p is not None and p < limit)}"
              f" / {len(found)}")
    print(f"answer anywhere in the first quote: {sum(1 for p in found if p is not None)} / {len(found)}")


if __name__ == "__main__":
    main()
