"""Plain ASGI middleware: body size limit, per-client rate limit on questions, an access log without questions.

Written as ASGI (not Starlette's BaseHTTPMiddleware) so each costs a few µs and
streams nothing twice; the rate limiting itself is the `limits` library.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from .errors import error_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("api.access")


class BodyLimit:
    """Refuse a request body over `limit` bytes (413) before anything parses it, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await error_response("body_too_large", _too_large(self.limit))(scope, receive, send)
            return
        body, more = b"", True
        while more:   # read it all here (it is small) so a chunked body cannot grow past the limit
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await error_response("body_too_large", _too_large(self.limit))(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _too_large(limit: int) -> str:
    return f"Cererea este prea mare (cel mult {limit} octeți)."


class RateLimit:
    """At most `per_minute` questions a minute per client address (moving window), per worker process.

    The address is the connection's, or the proxy's X-Forwarded-For when uvicorn
    trusts that proxy (`--forwarded-allow-ips`). Health checks and the widget are not counted.
    """

    def __init__(self, app: ASGIApp, per_minute: int, paths: tuple[str, ...] = ("/v1/ask",)) -> None:
        self.app, self.paths = app, paths
        self.item = RateLimitItemPerMinute(per_minute) if per_minute > 0 else None
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.item is None or scope["type"] != "http" or scope["path"] not in self.paths \
                or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        if not self.limiter.hit(self.item, client):
            reset, _ = self.limiter.get_window_stats(self.item, client)
            wait = max(1, int(reset - time.time()) + 1)
            await error_response("rate_limited", headers={"Retry-After": str(wait)})(scope, receive, send)
            return
        await self.app(scope, receive, send)


class AccessLog:
    """One line per request: method, the route's template (never the raw path or query), status, time.

    `/v1/ask` carries the question in its body, which is never logged; a route
    template such as `/v1/policies/{name}/coverage` cannot carry user text either,
    and an unknown path is logged as `-`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "-"
            access_log.info("%s %s %d %.1fms", scope["method"], template, status[0],
                            (time.perf_counter() - started) * 1000)
