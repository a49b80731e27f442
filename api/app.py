"""The HTTP API: FastAPI routes over one `retrieval.Service` per worker process.

    POST /v1/ask                        {"question", "k", "policy"} -> the answer (shape of `ask --json`)
    GET  /v1/policies                   the policies served, their generation, pages and example questions
    GET  /v1/policies/{name}/coverage   the GDPR coverage map (`retrieval coverage --json`)
    GET  /v1/policies/{name}/topics     the topic labels of every section (`retrieval topics --json`)
    GET  /v1/health                     ready?, index generation and model per policy (503 until ready)
    GET  /widget.js                     the embeddable chat widget
    GET  /openapi.json                  the schema (the interactive /docs page would load assets from a CDN: off)

Question routes are plain `def`: FastAPI runs them in its thread pool, so the
event loop keeps accepting while the model works (the model is ~17 ms a question).
"""
from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, Literal

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, JSONResponse, Response

import retrieval as r
from retrieval.coverage import coverage_map
from retrieval.engine import MAX_QUESTION_CHARS

from . import config
from .errors import MESSAGES, ApiError, error_response
from .middleware import AccessLog, BodyLimit, RateLimit

WIDGET = Path(__file__).resolve().parent / "static" / "widget.js"
MAX_K = 10
log = logging.getLogger("api")


# -- schema ----------------------------------------------------------------------------------

class AskRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={
        "examples": [{"question": "Vindeți datele mele?", "k": 3, "policy": "onedu"}]})

    # Strict: "3" is not a number and 3 is not a question. Length is the library's check (a Romanian message).
    question: str = Field(strict=True, description="Întrebarea, în română (cel mult 2000 de caractere).")
    k: int = Field(3, strict=True, ge=1, le=MAX_K, description="Câte secțiuni citate, cel mult 10.")
    policy: str | None = Field(None, strict=True, max_length=100, description="Numele politicii (implicit prima).")


class QuoteOut(BaseModel):
    page: str
    section: str
    section_path: list[str]
    citation: str
    quote: str
    score: float
    source: str
    anchor: str
    url: str = Field(description="Adresa secțiunii (url: din antetul paginii + #ancoră), sau gol.")


class EvidenceOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    reason: Literal["answered", "uncovered", "offtopic", "unknown_words"]
    topic: str | None = None
    coverage: float = 0.0


class AskResponse(BaseModel):
    question: str
    abstained: bool
    reason: Literal["answered", "uncovered", "offtopic", "unknown_words"]
    message: str = Field(description="Fraza noastră când politica nu răspunde („Politica … nu spune …”).")
    contact: str = Field(description="Cui se poate scrie (contact: din pagini sau PRIVACY_CONTACT), sau gol.")
    contact_line: str
    evidence: EvidenceOut
    answers: list[QuoteOut]
    policy: str
    generation: str


class PolicyOut(BaseModel):
    name: str
    ready: bool
    generation: str | None
    model: str | None
    pages: list[str]
    examples: list[str]
    contact: str
    error: str | None


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    ready: bool
    policies: list[dict[str, Any]]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


def _errors(*codes: str) -> dict[int | str, dict[str, Any]]:
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(MESSAGES[code][0], []).append(code)
    return {status: {"model": ErrorOut, "description": "Cod: " + ", ".join(names)}
            for status, names in by_status.items()}


# -- the app ---------------------------------------------------------------------------------

def create_app(settings: config.Settings | None = None, service: r.Service | None = None) -> FastAPI:
    """The ASGI app; uvicorn calls it once per worker (`--factory`). Tests pass their own service."""
    settings = settings or config.from_env()
    _log_access_to_stderr()
    service = service or r.Service(settings.policies, check_every=settings.check_every)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        # Questions run in at most `threads` threads a worker; the rest wait their turn in the event loop.
        # The model releases the GIL, but 10 inferences at once on 2 cores only thrash (bench/load.py).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        await anyio.to_thread.run_sync(service.load_all)  # ready before the first visitor, not on them
        yield

    app = FastAPI(title="Asistent pentru politica de confidențialitate", version="1",
                  description="Răspunsuri citate cuvânt cu cuvânt din politica de confidențialitate.",
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.service = service

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        media = request.headers.get("content-type", "")
        if request.method == "POST" and media and "json" not in media.lower():
            return error_response("unsupported_media_type")   # a form or text body is never parsed as JSON
        return _validation_error(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
        return error_response(code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected %s on %s", type(exc).__name__, getattr(request.scope.get("route"), "path", "-"))
        return error_response("internal_error")

    def snapshot(name: str | None) -> r.Snapshot:
        try:
            return service.snapshot(name)
        except r.UnknownPolicyError as exc:
            raise ApiError("unknown_policy", str(exc)) from None
        except r.RetrievalError as exc:
            raise ApiError("not_ready", f"{MESSAGES['not_ready'][1]} ({exc})") from None

    @app.post("/v1/ask", response_model=AskResponse, tags=["întrebări"],
              responses=_errors(
                  "invalid_json", "invalid_request", "invalid_question", "unknown_policy", "unsupported_media_type",
                  "body_too_large", "rate_limited", "not_ready"))
    def ask(body: AskRequest) -> dict[str, Any]:
        """Răspunsul la o întrebare: citate din politică, cu trimiteri, sau de ce politica nu răspunde."""
        snap = snapshot(body.policy)
        try:
            answer = snap.ask(body.question, body.k)
        except r.QuestionError as exc:
            raise ApiError("invalid_question", str(exc)) from None
        out = answer.to_json()
        out.update(reason=answer.reason, contact_line=answer.contact_line, policy=snap.name,
                   generation=snap.generation)
        return out

    @app.get("/v1/policies", response_model=list[PolicyOut], tags=["politici"])
    def policies() -> list[dict[str, Any]]:
        """Politicile servite: generația indexului, paginile și întrebări-exemplu la care răspund."""
        out = []
        for name in service.names:
            state = service.state(name)
            try:
                snap: r.Snapshot | None = service.snapshot(name)
            except r.RetrievalError:
                snap = None
            out.append({"name": name, "ready": snap is not None, "generation": state.generation,
                        "model": state.model, "pages": snap.pages if snap else [],
                        "examples": snap.examples if snap else [], "contact": snap.engine.contact if snap else "",
                        "error": state.error})
        return out

    @app.get("/v1/policies/{name}/coverage", tags=["politici"], responses=_errors("unknown_policy", "not_ready"))
    def coverage(name: str) -> list[dict[str, Any]]:
        """Harta acoperirii GDPR: pentru fiecare temă, secțiunile care o acoperă sau ce lipsește."""
        return [entry.to_json() for entry in coverage_map(snapshot(name).engine)]

    @app.get("/v1/policies/{name}/topics", tags=["politici"], responses=_errors("unknown_policy", "not_ready"))
    def topics(name: str) -> list[dict[str, Any]]:
        """Temele propuse de construirea indexului, secțiune cu secțiune."""
        return [{"section": s.citation, "topics": list(s.topics)} for s in snapshot(name).engine.sections]

    @app.get("/v1/health", response_model=HealthOut, tags=["stare"], responses={503: {"model": HealthOut}})
    def health() -> Response:
        """Pregătit? Generația indexului și modelul, pe politică (503 cât timp una nu e încărcată)."""
        for name in service.names:   # cheap: at most one stat pass a second
            with suppress(r.RetrievalError):
                service.snapshot(name)
        states = [service.state(name).to_json() for name in service.names]
        ready = all(s["ready"] for s in states)
        return JSONResponse({"status": "ok" if ready else "unavailable", "ready": ready, "policies": states},
                            status_code=200 if ready else 503)

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> Response:
        return FileResponse(WIDGET, media_type="text/javascript; charset=utf-8",
                            headers={"Cache-Control": "public, max-age=300"})

    # Outermost last: the log sees every response; CORS headers reach error answers too.
    app.add_middleware(RateLimit, per_minute=settings.rate_limit)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                       allow_headers=["Content-Type"], max_age=600)
    app.add_middleware(AccessLog)
    return app


def _log_access_to_stderr() -> None:
    """One line a request on stderr (uvicorn's own access log is off: it would print query strings)."""
    logger = logging.getLogger("api.access")
    if logger.handlers or os.environ.get("PRIVACY_ACCESS_LOG", "1") == "0":
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


_FIELDS = {
    "question": "Câmpul „question” trebuie să fie text: întrebarea dvs.",
    "k": f"Câmpul „k” trebuie să fie un număr întreg între 1 și {MAX_K}.",
    "policy": "Câmpul „policy” trebuie să fie text: numele politicii (cel mult 100 de caractere).",
}


def _validation_error(exc: RequestValidationError) -> Response:
    """Pydantic's errors, in Romanian, naming the fields; the submitted values are never echoed."""
    problems = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            return error_response("invalid_json")
        loc = [str(part) for part in error.get("loc", ()) if part != "body"]
        if not loc:   # the body is missing or not an object
            return error_response("invalid_json")
        problems.append(_FIELDS.get(loc[0], f"Câmpul „{loc[0][:40]}” nu este valid."))
    if not problems:
        return error_response("invalid_request")
    return error_response("invalid_request", " ".join(dict.fromkeys(problems)))


__all__ = ["MAX_QUESTION_CHARS", "create_app"]
