"""Latency of `ask`: warm (model and index loaded) and cold (a fresh CLI process).

    .venv/bin/python bench/latency.py [--rounds 3] [--cold 5]

Warm: every question of eval/questions.jsonl answered (retrieval + quote
selection) `rounds` times in one process. Cold: `python -m retrieval ask ...` run
as a new process, index already built.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

from common import INDEX, ROOT, engine, questions
from retrieval import ask


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--rounds", type=int, default=3)
    options.add_argument("--cold", type=int, default=5)
    args = options.parse_args()

    e = engine()
    items = [q.question for q in questions()]
    ask(e, items[0])  # first call pays one-off allocations
    timings = []
    for _ in range(args.rounds):
        for question in items:
            started = time.perf_counter()
            ask(e, question, k=3)
            timings.append((time.perf_counter() - started) * 1000)
    print(f"warm ask: n={len(timings)} p50={np.percentile(timings, 50):.1f} ms "
          f"p95={np.percentile(timings, 95):.1f} ms max={max(timings):.1f} ms")

    if args.cold < 1:
        return
    cold = []
    for _ in range(args.cold):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "retrieval", "ask", "cui partajați datele mele?", "--index", str(INDEX)],
                       cwd=ROOT, check=True, capture_output=True)
        cold.append(time.perf_counter() - started)
    print(f"cold `python -m retrieval ask`: n={len(cold)} p50={np.percentile(cold, 50):.2f} s max={max(cold):.2f} s")


if __name__ == "__main__":
    main()
