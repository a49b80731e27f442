"""What each part of the candidate pool buys and costs on a large index (issue 12, candidates.pool).

    .venv/bin/python bench/pool.py --index /tmp/wt12-big/index-100000 [--rounds 3]

On an index built by bench/scale.py (stand-in vectors), in one process: the exhaustive top-1
section of 200 real questions (stand-in question vectors, as scale.py), then, for the pool as it
is and with one part of it taken out at a time, the share of questions whose pooled top-1 equals
it, and the engine-only warm ask (question vectors precomputed by the real model, as scale.py's
"engine only") p50 / p95 over 100 questions, the variants alternated `--rounds` times so that the
machine's load falls on all alike (each round starts with the next variant).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import retrieval
import retrieval.candidates as candidates
import scale
from retrieval.engine import Engine
from retrieval.text import model_text

VARIANTS: dict[str, dict[str, int]] = {
    "pool": {},
    "without the lowest chunks (dense minimum from the pool's own)": {"LOW_CHUNKS": 0},
    "without the lowest titles (title minimum from the pool's own)": {"LOW_TITLES": 0},
    "200 chunks by BM25 instead of 300": {"LEXICAL_CHUNKS": 200},
    "100 chunks by BM25 instead of 300": {"LEXICAL_CHUNKS": 100},
}


def using(changes: dict[str, int]) -> None:
    for name in ("LOW_CHUNKS", "LOW_TITLES", "LEXICAL_CHUNKS"):
        setattr(candidates, name, changes.get(name, DEFAULTS[name]))


DEFAULTS = {name: getattr(candidates, name) for name in ("LOW_CHUNKS", "LOW_TITLES", "LEXICAL_CHUNKS")}


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--index", type=Path, default=Path("/tmp/scale-bench/index-100000"))
    options.add_argument("--rounds", type=int, default=3)
    args = options.parse_args()
    print(f"load average {os.getloadavg()}", flush=True)
    engine = Engine.open(args.index)
    if engine.index.chunk_scan is None:
        print("(this index has no chunks.sq: fewer than store.ANN_MIN_CHUNKS chunks, cosines are exact)")
    questions = scale.load_questions()
    model = engine.embedder

    engine.embedder = scale.StandIn()
    exact = engine.with_settings()
    exact.exact_below = 10**9
    truth = [exact.retrieve(q).hits[0].section for q in questions]
    pooled = engine.with_settings()
    pooled.exact_below = 0
    for name, changes in VARIANTS.items():
        using(changes)
        missed = [n for n, (q, t) in enumerate(zip(questions, truth, strict=True))
                  if pooled.retrieve(q).hits[0].section != t]
        print(f"{name}: top-1 = exhaustive {1 - len(missed) / len(questions):.3f} ({len(questions)} questions; "
              f"differing: {missed})", flush=True)

    asked = questions[:100]
    engine.embedder = scale._Memo(model, {model_text(q): model.embed_queries([model_text(q)]) for q in asked})
    for question in asked:
        retrieval.ask(engine, question, k=3)
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for round_ in range(args.rounds):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:   # each variant first in turn
            using(VARIANTS[name])
            rounds[name].append(scale.ask_percentiles(engine, asked))
    using({})
    scale.print_rounds("", rounds)


if __name__ == "__main__":
    main()
