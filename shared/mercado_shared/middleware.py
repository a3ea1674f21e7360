"""The ASGI middlewares every service runs: request metrics and the body size limit."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException

from mercado_shared import metrics
from mercado_shared.errors import error_body

LONG_POLL = "mercado.long_poll"  # set in a request's scope by a route that held it waiting


class RequestMetrics:
    """Latency and status of every request, by route template. Plain ASGI, not
    BaseHTTPMiddleware: that one runs each request in an extra task with streams between
    them, which the event loop pays for on every request."""

    def __init__(self, app: Any, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the app starts a response

        async def send_with_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")  # the router records it in scope
            metrics.HTTP_REQUESTS.labels(self.service, scope["method"], route, str(status)).inc()
            timing = metrics.HTTP_LONG_POLL if scope.get(LONG_POLL) else metrics.HTTP_LATENCY
            timing.labels(self.service, scope["method"], route).observe(time.perf_counter() - started)


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413, declared or streamed."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise StarletteHTTPException(413, "the request body is too large")
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, send: Any) -> None:
        body = json.dumps(error_body("BODY_TOO_LARGE", f"at most {self.max_bytes} bytes")).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
