"""The scale-out setup without Docker: two API replicas on one read-only index, behind nginx with
`deploy/nginx.conf` (its upstream pointed at the two local replicas), and an index update published
while clients ask through the proxy: every replica moves to the new generation, no request fails.

Needs the `nginx` binary (Debian's nginx-light); skipped without it unless REQUIRE_NGINX=1.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest

from api.devserver import api_server
from webapp.devserver import free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

if not Path(NGINX).exists():
    if os.environ.get("REQUIRE_NGINX") == "1":
        pytest.fail("nginx is missing and REQUIRE_NGINX=1", pytrace=False)
    pytest.skip("nginx is not installed (apt-get install nginx-light)", allow_module_level=True)


def _local_conf(ports: list[int], listen: int, folder: Path) -> Path:
    """deploy/nginx.conf with Docker's DNS name replaced by the local replicas' ports."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    conf = re.sub(r"\n\s*resolver [^;]*;", "", conf)
    conf = conf.replace("server api:8000 resolve;", " ".join(f"server 127.0.0.1:{p};" for p in ports))
    conf = conf.replace("listen 8000;", f"listen 127.0.0.1:{listen};")
    conf = conf.replace("rate=1r/s", "rate=500r/s")   # four test clients share one address
    conf = conf.replace("access_log /dev/stdout privacy;", f"access_log {folder / 'access.log'} privacy;")
    path = folder / "nginx.conf"
    path.write_text(conf, encoding="utf-8")
    return path


def _post(url: str, body: bytes, timeout: float = 30) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_replicas_behind_nginx_follow_a_new_generation_with_no_failed_request(shipped_index, tmp_path):
    # The replicas run with PRIVACY_READ_ONLY=1 (they never build); the test runs as root here, so a
    # chmod would not prove it: tests/test_service.py checks that a replica never builds.
    index = Path(shutil.copytree(shipped_index, tmp_path / "index"))
    corpus = Path(shutil.copytree(ROOT / "corpus", tmp_path / "corpus"))
    env = {"PRIVACY_INDEX_DIR": str(index), "PRIVACY_READ_ONLY": "1", "PRIVACY_RATE_LIMIT": "0",
           "PRIVACY_CHECK_EVERY_S": "0.2"}
    with ExitStack() as stack:
        replicas = [stack.enter_context(api_server(env)) for _ in range(2)]
        port = free_port()
        conf = _local_conf([int(u.rsplit(":", 1)[1]) for u in replicas], port, tmp_path)
        nginx = subprocess.Popen([NGINX, "-c", str(conf), "-g",
                                  f"daemon off; pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'error.log'};"])
        stack.callback(lambda: (nginx.terminate(), nginx.wait(10)))
        proxy = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                assert _get(f"{proxy}/v1/health")["ready"]
                break
            except (OSError, AssertionError):
                assert time.monotonic() < deadline, (tmp_path / "error.log").read_text()
                time.sleep(0.2)

        # nginx's own refusals speak the API's JSON errors.
        status, body = _post(f"{proxy}/v1/ask", json.dumps({"question": "x" * 9000}).encode())
        assert status == 413 and body["error"]["code"] == "body_too_large"

        first = {_get(f"{u}/v1/health")["policies"][0]["generation"] for u in replicas}
        assert len(first) == 1
        results: list[int] = []
        stop = threading.Event()

        def asker() -> None:
            while not stop.is_set():
                results.append(_post(f"{proxy}/v1/ask", b'{"question": "Vindeti datele mele?"}')[0])

        threads = [threading.Thread(target=asker) for _ in range(4)]
        for t in threads:
            t.start()
        page = corpus / "partajarea-datelor.md"
        page.write_text(page.read_text(encoding="utf-8") + "\n# Cât timp păstrăm datele?\n"
                        "Păstrăm datele dvs. cel mult cinci ani.\n", encoding="utf-8")
        build = subprocess.run([sys.executable, "-m", "retrieval", "build", "--corpus", str(corpus),
                                "--index", str(index)], capture_output=True, text=True, timeout=300)
        assert build.returncode == 0, build.stderr
        new = json.loads((index / "manifest.json").read_text(encoding="utf-8"))["generation"]
        deadline = time.monotonic() + 30
        while {_get(f"{u}/v1/health")["policies"][0]["generation"] for u in replicas} != {new}:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(1)
        stop.set()
        for t in threads:
            t.join()
        assert len(results) > 20 and all(code == 200 for code in results), results
        status, body = _post(f"{proxy}/v1/ask", json.dumps({"question": "Cât timp păstrați datele?", "k": 5}
                                                           ).encode())
        assert status == 200 and body["generation"] == new
        assert "Cât timp păstrăm datele?" in [a["section"] for a in body["answers"]]
        log = (tmp_path / "access.log").read_text(encoding="utf-8")
        assert "POST 200" in log and "Vindeti" not in log and "/v1/ask" not in log   # no URI, no question
