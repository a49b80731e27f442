"""Load test of the HTTP API with locust: simulated visitors asking the shipped question mix.

    .venv/bin/python bench/load.py                  # starts the API (serve.sh's way), runs this, prints figures
    .venv/bin/locust -f bench/locustfile.py --headless -u 20 -r 20 -t 60s --host http://127.0.0.1:8000

Each user asks a question from `eval/questions.jsonl` (128: answered, not covered
and off-topic ones) as soon as the previous answer arrives (closed loop, no think
time: the most load 20 clients can make). A response counts as a failure unless
it is 200 with the answer's shape. Every user sends its own X-Forwarded-For
address, as visitors behind a proxy would, so the per-client limit applies to
each, not to all of them together.
"""
from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, constant, constant_throughput, events, task

QUESTIONS = [json.loads(line)["question"]
             for line in (Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl")
             .read_text(encoding="utf-8").splitlines() if line.strip()]
GENERATIONS: dict[str, int] = {}
_addresses = itertools.count(1)
# Questions a second per user (bench/load.py --rate); 0 = closed loop.
RATE = float(os.environ.get("LOAD_RATE_PER_USER", "0") or 0)
# "paced": each user asks exactly RATE a second (locust's constant_throughput); the users then
# drift into step and arrive in bursts of up to 20. "poisson": exponential think time of mean
# 1/RATE, as independent visitors arrive (bench/load.py --poisson).
ARRIVALS = os.environ.get("LOAD_ARRIVALS", "paced")


def _exponential(user: FastHttpUser) -> float:
    return user.random.expovariate(RATE)


class Visitor(FastHttpUser):
    wait_time = (_exponential if ARRIVALS == "poisson" else constant_throughput(RATE)) if RATE > 0 else constant(0)

    def on_start(self) -> None:
        n = next(_addresses)
        self.address = f"192.0.2.{n % 250 + 1}"   # TEST-NET-1: a label in a header, never contacted
        self.random = random.Random(n)

    @task
    def ask(self) -> None:
        question = self.random.choice(QUESTIONS)
        with self.client.post("/v1/ask", json={"question": question, "k": 3}, name="/v1/ask",
                              headers={"X-Forwarded-For": self.address}, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return
            try:
                body = response.json()
                assert isinstance(body["answers"], list) and body["reason"] and body["generation"]
            except (ValueError, KeyError, TypeError, AssertionError):
                response.failure("not an answer")
                return
            GENERATIONS[body["generation"]] = GENERATIONS.get(body["generation"], 0) + 1
            response.success()


@events.test_stop.add_listener
def _generations(environment, **_kwargs) -> None:
    print("GENERATIONS " + json.dumps(GENERATIONS))
