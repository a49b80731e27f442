"""Run the API as a real server on a free local port (browser tests and the load test).

Not used by the API itself: it starts uvicorn the way `scripts/serve.sh` does.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from webapp.devserver import free_port

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def api_server(env: dict[str, str] | None = None, workers: int = 1, timeout: float = 180.0,
               port: int | None = None) -> Iterator[str]:
    """Start uvicorn on the API, yield its base URL once /v1/health says ready, stop it afterwards."""
    port = port or free_port()
    command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with code {process.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/v1/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the API did not become ready on {url} within {timeout:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
