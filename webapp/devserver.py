"""Run the app as a real server on a free local port (browser tests and the latency bench).

Not used by the app itself: it exists so tests and `bench/app_latency.py`
start the server the same way a user does, `python -m streamlit run app.py`.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .config import APP_DIR

CHROMIUM = Path("/usr/bin/chromium")
# Headless, no GPU, and no background traffic of Chromium's own (updates, sync, QUIC probes).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"]
LOCAL_PREFIXES = ("http://localhost", "ws://localhost", "http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")
INPUT = "Scrieți întrebarea"                          # placeholder of the chat input
READY = "Puteți începe cu una dintre aceste întrebări"  # shown once the engine is loaded


def open_chat(browser, url: str, width: int = 1200, **context_options):
    """A fresh browser session on the app, ready for a question: (context, page, chat input)."""
    context = browser.new_context(viewport={"width": width, "height": 900}, **context_options)
    page = context.new_page()
    return context, page, page.get_by_placeholder(INPUT)


def wait_ready(page, box) -> None:
    box.wait_for(timeout=60_000)
    page.get_by_text(READY).wait_for(timeout=60_000)


def ask_in_new_session(browser, url: str, question: str, answered, page_setup=None, **context_options):
    """Open the app in a fresh session and ask once, as a user would.

    `answered(page)` waits until the answer shows; `page_setup(page)` runs before
    the page loads (to attach listeners). Returns (context, page, load->answer s,
    Enter->answer s).
    """
    context, page, box = open_chat(browser, url, **context_options)
    if page_setup:
        page_setup(page)
    started = time.perf_counter()
    page.goto(url)
    wait_ready(page, box)
    box.fill(question)
    asked = time.perf_counter()
    box.press("Enter")
    answered(page)
    done = time.perf_counter()
    return context, page, done - started, done - asked


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def app_server(env: dict[str, str] | None = None, python: str | None = None,
               timeout: float = 60.0) -> Iterator[str]:
    """Start `streamlit run app.py`, yield its base URL once healthy, stop it afterwards."""
    port = free_port()
    python = python or str(APP_DIR / ".venv" / "bin" / "python")
    if not Path(python).exists():
        python = sys.executable
    command = [python, "-m", "streamlit", "run", str(APP_DIR / "app.py"), "--server.port", str(port),
               "--server.headless", "true", "--server.address", "127.0.0.1"]
    with running(command, APP_DIR, env, f"http://127.0.0.1:{port}", "/_stcore/health", "streamlit", timeout) as url:
        yield url


@contextmanager
def running(command: list[str], cwd: Path, env: dict[str, str] | None, url: str, health: str, name: str,
            timeout: float, stop_timeout: float = 15.0) -> Iterator[str]:
    """Run a server process, yield `url` once `url + health` answers 200, then stop it (the app's and the API's)."""
    process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode}")
            try:
                with urllib.request.urlopen(f"{url}{health}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


TEST_STAFF_TOKEN = "cheie-doar-pentru-teste"   # PRIVACY_STAFF_TOKEN of the servers tests and benches start
TOKEN_FIELD = "Cheia de acces a echipei"


def unlock_staff(page, url: str, token: str = TEST_STAFF_TOKEN, timeout: float = 150.0) -> None:
    """Open /echipa in this page's session, type the token, land on "Pentru echipa de suport".

    On a loaded machine a keystroke can land while the form is still being redrawn, and the
    form then submits an empty field (CI once waited 90 s for a view that never came). So the
    form is re-submitted, by its button, whenever it is still there after a while; only the
    staff view's own slider counts as success. On failure a screenshot goes to artifacts/.
    """
    page.goto(f"{url}/echipa")
    field = page.get_by_label(TOKEN_FIELD)
    field.wait_for(timeout=60_000)
    done = page.get_by_text("Secțiuni afișate")
    deadline = time.monotonic() + timeout
    wait_ms = 10_000
    while True:
        try:
            if field.is_visible():
                field.fill(token)
                page.get_by_role("button", name="Intră").click(timeout=10_000)
            done.wait_for(timeout=wait_ms)
            return
        except Exception:
            if time.monotonic() > deadline:
                shot = APP_DIR / "artifacts" / "screenshots" / "unlock-failed.png"
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot), full_page=True)
                raise
            wait_ms = min(wait_ms * 2, 40_000)
