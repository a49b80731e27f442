"""Twelve questions every visitor asks of any policy, asked of every policy: read the first quotes.

    PYTHONPATH=bench:. .venv/bin/python bench/battery.py [--index-root DIR]

Not a metric (there are no labels): a reading aid for what a visitor sees on questions nobody
wrote for one particular policy. Same policies as bench/calibrate.py; one line a question:
the policy, the question, then the first quote's section and words, or why it declined.
"""
from __future__ import annotations

import sys
from pathlib import Path

import retrieval
from calibrate import policy_sets

QUESTIONS = [
    "Ce date colectați despre mine?", "Cui dați datele mele?", "Cum îmi șterg datele?",
    "Pot să-mi retrag consimțământul?", "Folosiți cookie-uri?", "Cine răspunde de datele mele?",
    "Cum vă contactez?", "Cât timp păstrați datele?", "Unde sunt stocate datele?", "Vindeți datele mele?",
    "Pot vedea ce date aveți despre mine?", "Unde fac plângere?",
]


def main() -> None:
    root = Path(sys.argv[sys.argv.index("--index-root") + 1]) if "--index-root" in sys.argv \
        else Path("/tmp/battery-index")
    for name, pages, _ in policy_sets():
        engine = retrieval.open_engine(root / name, pages)
        for question in QUESTIONS:
            answer = retrieval.ask(engine, question, k=3)
            if answer.abstained:
                shown = f"declines ({answer.reason}): {answer.message[:90]}"
            else:
                first = answer.quotes[0]
                shown = f"{first.section[:28]:28} | {first.quote[:110]}".replace("\n", " ")
            print(f"{name[:10]:10} | {question[:38]:38} | {shown}")


if __name__ == "__main__":
    main()
