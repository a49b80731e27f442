"""CPU time of one question by its length: why the engine scores at most SCORED_QUESTION_CHARS characters.

    .venv/bin/python bench/question_cost.py

Prints, per question length, the CPU time of the model's query embedding alone and
of a whole `ask` (best of a few runs, process CPU time so other jobs on the machine
count less), first on the raw text the model would see, then through `ask`, which
shortens anything past SCORED_QUESTION_CHARS.
"""
from __future__ import annotations

import random
import time

from common import engine
from retrieval import ask
from retrieval.engine import MAX_QUESTION_CHARS, SCORED_QUESTION_CHARS
from retrieval.text import model_text

WORDS = ["cum", "folosesc", "datele", "mele", "personale", "pentru", "marketing", "si", "cui", "le",
         "partajati", "cat", "timp", "pastrati"]


def cpu(run, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    e = engine()
    rng = random.Random(1)
    print(f"scored at most {SCORED_QUESTION_CHARS} of {MAX_QUESTION_CHARS} characters")
    print(f"{'chars':>6} {'model alone':>12} {'ask':>8}")
    for chars in (50, 100, 200, 300, 500, 1000, 2000):
        question = " ".join(rng.choice(WORDS) for _ in range(chars))[:chars]
        alone = cpu(lambda q=question: e.embedder.embed_queries([model_text(q)]))
        whole = cpu(lambda q=question: ask(e, q))
        print(f"{chars:>6} {alone * 1000:>9.0f} ms {whole * 1000:>5.0f} ms")


if __name__ == "__main__":
    main()
