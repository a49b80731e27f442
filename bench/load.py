"""Load test: the API as `serve.sh` runs it (uvicorn, several workers), driven by locust on this machine.

    .venv/bin/python bench/load.py                       # 20 clients, 60 s, 2 workers
    .venv/bin/python bench/load.py --swap                # the same, rebuilding the index in the middle

Works on a private copy of `corpus/` and `index/` (the shipped ONedu pages). The
workers run as replicas do (PRIVACY_READ_ONLY=1: they follow new generations,
a separate `retrieval build` publishes them). The per-client limit stays on but
generous (locust's users each have their own address; a closed-loop user asks
~3 questions a second, far above a person). With `--swap`, halfway through a page is
edited and `python -m retrieval build` publishes a new generation; every worker
must swap to it with no failed request.

Prints and writes `artifacts/load[_swap].json`: answers/s, p50/p95/p99, failures,
the CPU the load generator (locust) and the server used, and `uptime` before and after.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from api.devserver import api_server

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for p in processes:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _server_processes(port: int) -> list[psutil.Process]:
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if "uvicorn" in " ".join(cmd) and str(port) in cmd:
            return [p, *p.children(recursive=True)]
    return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="PRIVACY_THREADS: questions at once per worker")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="questions a second per user (0: closed loop, ask again as soon as answered)")
    parser.add_argument("--poisson", action="store_true",
                        help="with --rate: exponential think times (independent visitors) instead of exact pacing")
    parser.add_argument("--swap", action="store_true", help="rebuild the index halfway through")
    args = parser.parse_args()

    subprocess.run([sys.executable, "-m", "retrieval", "build", "--if-needed"], cwd=ROOT, check=True)
    work = Path(tempfile.mkdtemp(prefix="load-"))
    corpus = Path(shutil.copytree(ROOT / "corpus", work / "corpus"))
    index = Path(shutil.copytree(ROOT / "index", work / "index"))
    env = {"PRIVACY_INDEX_DIR": str(index), "PRIVACY_CORPUS_DIR": str(corpus), "PRIVACY_READ_ONLY": "1",
           "PRIVACY_RATE_LIMIT": "100000", "PRIVACY_ACCESS_LOG": "1", "PRIVACY_THREADS": str(args.threads)}
    ARTIFACTS.mkdir(exist_ok=True)
    name = "load_swap" if args.swap else "load"
    prefix = ARTIFACTS / name
    before = _uptime()
    print(before, flush=True)
    with api_server(env, workers=args.workers) as url:
        port = int(url.rsplit(":", 1)[1])
        for _ in range(2 * args.workers):   # warm every worker's first question
            request = urllib.request.Request(f"{url}/v1/ask", data=b'{"question": "Vindeti datele mele?"}',
                                             headers={"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=30).read()
        server = _server_processes(port)
        server_cpu = _cpu(server)
        started = time.perf_counter()
        locust = psutil.Popen([sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
                               "--headless", "-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds}s",
                               "--host", url, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
                               "--stop-timeout", "10"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "LOAD_RATE_PER_USER": str(args.rate),
                                   "LOAD_ARRIVALS": "poisson" if args.poisson else "paced"})
        swap: dict[str, float | str] = {}
        if args.swap:
            def rebuild() -> None:
                time.sleep(args.seconds / 2)
                page = corpus / "partajarea-datelor.md"
                page.write_text(page.read_text(encoding="utf-8") + "\n# Cât timp păstrăm datele?\n"
                                "Păstrăm datele dvs. cel mult cinci ani de la ultima activitate.\n", encoding="utf-8")
                t = time.perf_counter()
                build = subprocess.run([sys.executable, "-m", "retrieval", "build", "--corpus", str(corpus),
                                        "--index", str(index)], cwd=ROOT, capture_output=True, text=True)
                swap.update(at_s=round(t - started, 1), build_s=round(time.perf_counter() - t, 1),
                            build=build.stdout.strip() or build.stderr.strip())

            threading.Thread(target=rebuild, daemon=True).start()
        locust_cpu = 0.0
        output = []
        assert locust.stdout is not None
        for line in locust.stdout:
            output.append(line)
            try:
                t = locust.cpu_times()
                locust_cpu = t.user + t.system + t.children_user + t.children_system
            except psutil.NoSuchProcess:
                pass
        locust.wait()
        wall = time.perf_counter() - started
        server_cpu = _cpu(server) - server_cpu
    after = _uptime()
    text = "".join(output)
    generations = json.loads(m.group(1)) if (m := re.search(r"GENERATIONS (\{.*\})", text)) else {}
    with open(f"{prefix}_stats.csv", encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    result = {
        "users": args.users, "seconds": args.seconds, "workers": args.workers, "threads": args.threads,
        "rate_per_user": args.rate or "closed loop", "arrivals": "poisson" if args.poisson else "paced",
        "swap": swap or None,
        "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
        "answers_per_s": round(float(row["Requests/s"]), 1),
        "p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]), "p99_ms": float(row["99%"]),
        "max_ms": round(float(row["Max Response Time"]), 1),
        "generations_seen": generations,
        "locust_cpu_s": round(locust_cpu, 1), "locust_cores": round(locust_cpu / wall, 2),
        "server_cpu_s": round(server_cpu, 1), "server_cores": round(server_cpu / wall, 2),
        "uptime_before": before, "uptime_after": after, "cpus": os.cpu_count(),
    }
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(result, indent=1, ensure_ascii=False))
    shutil.rmtree(work, ignore_errors=True)
    return 0 if result["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
