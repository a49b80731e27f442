"""What the candidate pool's scan of every title (titles.sq, issue 12) buys and costs on a large index.

    .venv/bin/python bench/title_scan.py --index /tmp/scale-bench/index-100000 [--rounds 4]

On an index built by bench/scale.py (stand-in vectors, from 50,000 chunks), in one process:
top-1 section equal to exhaustive scoring's over 200 real questions (stand-in question vectors,
as scale.py) with the scan and without it (chunks by cosine and BM25 only, as in format 5), then
the engine-only warm ask (question vectors precomputed by the real model) with and without it,
alternated `--rounds` times so that the machine's load falls on both alike.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import retrieval
import scale
from retrieval.engine import Engine
from retrieval.text import model_text


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--index", type=Path, default=Path("/tmp/scale-bench/index-100000"))
    options.add_argument("--rounds", type=int, default=4)
    args = options.parse_args()
    print(f"load average {os.getloadavg()}", flush=True)
    engine = Engine.open(args.index)
    scan = engine.index.title_scan
    if scan is None:
        raise SystemExit("this index has no titles.sq (fewer than store.ANN_MIN_CHUNKS chunks)")
    questions = scale.load_questions()
    model = engine.embedder

    engine.embedder = scale.StandIn()
    exact = engine.with_settings()
    exact.exact_below = 10**9
    truth = [exact.retrieve(q).hits[0].section for q in questions]
    for mode in ("on", "off"):
        engine.index.title_scan = scan if mode == "on" else None
        pooled = engine.with_settings()
        pooled.exact_below = 0
        agree = sum(pooled.retrieve(q).hits[0].section == t for q, t in zip(questions, truth, strict=True))
        print(f"title scan {mode}: top-1 = exhaustive {agree / len(questions):.3f} ({len(questions)} questions)",
              flush=True)

    asked = questions[:100]
    engine.embedder = scale._Memo(model, {model_text(q): model.embed_queries([model_text(q)]) for q in asked})
    for question in asked:
        retrieval.ask(engine, question, k=3)
    rounds: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}
    for _ in range(args.rounds):
        for mode in ("on", "off"):
            engine.index.title_scan = scan if mode == "on" else None
            rounds[mode].append(scale.ask_percentiles(engine, asked))
    scale.print_rounds("title scan ", rounds)


if __name__ == "__main__":
    main()
