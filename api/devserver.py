"""Run the API as a real server on a free local port (browser tests and the load test).

Not used by the API itself: it starts uvicorn the way `scripts/serve.sh` does.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from webapp.devserver import free_port, running

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def api_server(env: dict[str, str] | None = None, workers: int = 1, timeout: float = 180.0,
               port: int | None = None) -> Iterator[str]:
    """Start uvicorn on the API, yield its base URL once /v1/health says ready, stop it afterwards."""
    port = port or free_port()
    command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    with running(command, ROOT, env, f"http://127.0.0.1:{port}", "/v1/health", "uvicorn (the API)", timeout) as url:
        yield url
