"""The FastAPI application every service is built on.

``create_service_app`` wires what all four share — lifespan of the messaging runtime,
business-error rendering, request metrics, ``/health``, ``/metrics`` and the push
entrypoint — so a service's own code is only its routers and handlers.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_http_server
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from mercado_shared import metrics, tracing
from mercado_shared.auth import TokenVerifier
from mercado_shared.db import wait_for_database
from mercado_shared.errors import BusinessError, ErrorBody, business_error_handler, error_body
from mercado_shared.health import HEALTH_PATH, LIVENESS_PATH, OK, READINESS_PATH, DatabaseProbe
from mercado_shared.messaging.bus import MessageBus
from mercado_shared.messaging.outbox import OutboxRelay
from mercado_shared.messaging.publisher import Publisher
from mercado_shared.messaging.push import push_router
from mercado_shared.periodic import Periodic
from mercado_shared.platform_auth import CallerAuthenticator, IdTokens
from mercado_shared.retention import RetentionSweep
from mercado_shared.server import SHUTDOWN, Deadline
from mercado_shared.sessions import Revocations
from mercado_shared.settings import ServiceSettings
from mercado_shared.topology import load_topology

log = logging.getLogger(__name__)
LONG_POLL = "mercado.long_poll"  # set in a request's scope by a route that held it waiting
HEALTH_CACHE_SECONDS = 5.0  # /health pings the database at most this often, however often it is asked


@dataclass
class Runtime:
    """What a running service owns and must release: database, broker, relay."""

    service: str
    engine: Engine
    publisher: Publisher
    relay: OutboxRelay
    bus: MessageBus[Any]
    uow_factory: Callable[[], Any]
    token_verifier: TokenVerifier
    push_authenticator: CallerAuthenticator
    internal_authenticator: CallerAuthenticator
    id_tokens: IdTokens
    revocations: Revocations
    settings: ServiceSettings
    retention: RetentionSweep
    on_startup: list[Callable[[], None]] = field(default_factory=list)
    # Each gets the shutdown's deadline (mercado_shared.server): it must be done by then.
    on_shutdown: list[Callable[[Deadline], None]] = field(default_factory=list)
    _metrics_server: Any = None
    _retention_loop: Periodic | None = None

    def start(self) -> None:
        wait_for_database(self.engine, self.settings.startup_database_wait_seconds)
        for hook in self.on_startup:
            hook()
        self.relay.start()
        self._retention_loop = Periodic("retention", self.settings.retention_interval_seconds, self.retention)
        self._retention_loop.start()
        if self.settings.metrics_port is not None:  # for the instance's own scraper only
            self._metrics_server, _ = start_http_server(self.settings.metrics_port, addr="127.0.0.1")

    def stop(self) -> None:
        """Within the shutdown's deadline: background loops first (they stop making work),
        then the outbox's last batch, the spans, the broker client, the pool."""
        deadline = SHUTDOWN.deadline()
        for hook in self.on_shutdown:
            hook(deadline)
        if self._retention_loop is not None:
            self._retention_loop.stop(deadline.remaining())
        self.relay.stop(deadline.remaining())
        tracing.shutdown(deadline.remaining())
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        self.publisher.close(deadline.remaining())
        self.engine.dispose()

    @cached_property
    def database_probe(self) -> DatabaseProbe:
        return DatabaseProbe(self.engine)


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


class Health(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "service": "orquestrador",
                    "version": "0.1.0",
                    "checks": {"database": "ok", "pubsub": "ok"},
                }
            ]
        }
    )

    status: str
    service: str
    version: str
    checks: dict[str, str]


def create_service_app(
    *,
    runtime: Runtime,
    title: str,
    version: str,
    description: str,
    routers: Sequence[APIRouter],
    openapi_tags: list[dict[str, str]] | None = None,
    max_body_bytes: int = 64 * 1024,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(runtime.start)
        log.info("started", extra={"version": version})
        try:
            yield
        finally:
            await run_in_threadpool(runtime.stop)
            log.info("stopped")

    app = FastAPI(
        title=title,
        version=version,
        description=description,
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        # FastAPI's own server span per request (continuing the caller's traceparent) is
        # the HTTP half of mercado_shared.tracing. Metrics and logs are ours, and spans
        # per dependency would triple the spans of every request for little insight.
        telemetry={"operation_spans": False, "metrics": False, "logs": False},
        # Production serves none of the internals on its public port (its metrics are
        # scraped on loopback, METRICS_PORT): the contract's /docs and /openapi.json are
        # for development; the frontend team codes against the local system.
        docs_url="/docs" if runtime.settings.serves_internals else None,
        redoc_url=None,
        openapi_url="/openapi.json" if runtime.settings.serves_internals else None,
    )
    app.state.runtime = runtime
    app.state.token_verifier = runtime.token_verifier
    app.state.revocations = runtime.revocations
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_exception_handler(BusinessError, business_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(ValueError, _nul_character_handler)
    app.add_exception_handler(OperationalError, _database_unavailable_handler)
    app.add_exception_handler(InterfaceError, _database_unavailable_handler)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    app.add_middleware(RequestMetrics, service=runtime.service)
    # Outermost: a browser's preflight is answered before anything else looks at it.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=runtime.settings.allowed_origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        expose_headers=["Retry-After", "Location"],
        allow_credentials=False,  # bearer tokens, never cookies
        max_age=600,
    )

    @app.get(
        LIVENESS_PATH,
        tags=["operations"],
        summary="Liveness: 200 while the process answers (no I/O; Cloud Run's liveness probe)",
        response_model=Health,
    )
    async def livez() -> Health:
        return Health(status=OK, service=runtime.service, version=version, checks={})

    @app.get(
        READINESS_PATH,
        tags=["operations"],
        summary="Readiness: 200 when the database answers a ping within a second (Cloud Run's startup probe)",
        response_model=Health,
        responses={503: {"model": Health, "description": "the database does not answer"}},
    )
    async def readyz() -> JSONResponse:
        return _health_response(runtime, version, {"database": await runtime.database_probe.status()})

    @app.get(
        HEALTH_PATH,
        tags=["operations"],
        summary="Health: 200 when the database and Pub/Sub answer, 503 otherwise",
        description=(
            "The database is pinged at most once every few seconds however often this is asked; "
            "Pub/Sub is judged by this instance's own latest publish. Neither calls a Google API."
        ),
        response_model=Health,
        responses={503: {"model": Health, "description": "a dependency does not answer"}},
    )
    async def health() -> JSONResponse:
        checks = {
            "database": await runtime.database_probe.status(max_age=HEALTH_CACHE_SECONDS),
            "pubsub": runtime.relay.health.status(),
        }
        return _health_response(runtime, version, checks)

    if runtime.settings.serves_internals:

        @app.get(
            "/metrics",
            tags=["operations"],
            summary="Prometheus metrics",
            response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {"example": "http_requests_total{...} 42.0"}}}},
        )
        def prometheus_metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    topology = load_topology()
    app.include_router(
        push_router(
            runtime.service,
            topology.services[runtime.service].push_path,
            runtime.bus,
            topology.subscription_defaults.max_delivery_attempts,
            runtime.push_authenticator,
        )
    )
    for router in routers:
        app.include_router(router)
    return app


def _health_response(runtime: Runtime, version: str, checks: dict[str, str]) -> JSONResponse:
    ok = all(v == OK for v in checks.values())
    body = Health(status=OK if ok else "unavailable", service=runtime.service, version=version, checks=checks)
    return JSONResponse(status_code=200 if ok else 503, content=body.model_dump())


async def _http_error_handler(request: Request, exc: Exception) -> Response:
    """Errors raised by the framework (an unknown path, a body that does not parse) get a
    stable code in the same ``{"detail": {"code", "message"}}`` shape as ours."""
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if isinstance(exc.detail, dict):
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=headers)
    code = {400: "MALFORMED_BODY", 413: "BODY_TOO_LARGE"}.get(exc.status_code) or HTTPStatus(exc.status_code).name
    return JSONResponse(status_code=exc.status_code, content=error_body(code, str(exc.detail)), headers=headers)


async def _validation_error_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's 422 (``{"detail": [{type, loc, msg, ctx}]}``) without the ``input`` it
    would echo: a refused password or CPF never comes back in a response, where proxies,
    browser tools and client logs would keep it."""
    assert isinstance(exc, RequestValidationError)
    errors = [{key: value for key, value in error.items() if key != "input"} for error in exc.errors()]
    return JSONResponse(status_code=422, content=jsonable_encoder({"detail": errors}))


async def _database_unavailable_handler(request: Request, exc: Exception) -> Response:
    """The database is down or unreachable: nothing the client did; it may retry."""
    route = getattr(request.scope.get("route"), "path", "unmatched")  # the template: no id or code in logs
    log.warning("database unavailable", extra={"error": type(exc).__name__, "route": route})
    return JSONResponse(
        status_code=503,
        content=error_body("SERVICE_UNAVAILABLE", "the service cannot reach its database; retry"),
        headers={"Retry-After": "2"},
    )


async def _nul_character_handler(request: Request, exc: Exception) -> Response:
    """PostgreSQL text cannot hold NUL; the driver refuses to send one. Wherever a client put
    it (body, path, query), that is the client's invalid input, not a server error."""
    if "NUL (0x00)" in str(exc):
        return JSONResponse(
            status_code=422, content=error_body("INVALID_CHARACTER", "text cannot contain the NUL character")
        )
    raise exc


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the 400 every operation with a body can answer."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schema.setdefault("components", {}).setdefault("schemas", {})["ErrorBody"] = ErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for name, definition in (
        ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {}).items()
    ):
        schema["components"]["schemas"].setdefault(name, definition)
    schema["components"]["schemas"]["ErrorBody"].pop("$defs", None)
    error_body_ref = {"$ref": "#/components/schemas/ErrorBody"}
    unprocessable = {"anyOf": [error_body_ref]}
    if "HTTPValidationError" in schema["components"]["schemas"]:
        unprocessable["anyOf"].append({"$ref": "#/components/schemas/HTTPValidationError"})
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation["responses"]
            if "requestBody" in operation:
                responses.setdefault(
                    "413",
                    {
                        "description": "The body is over the size limit (BODY_TOO_LARGE)",
                        "content": {
                            "application/json": {
                                "schema": error_body_ref,
                                "example": error_body("BODY_TOO_LARGE", "at most 65536 bytes"),
                            }
                        },
                    },
                )
                responses.setdefault(
                    "400",
                    {
                        "description": "The body is not JSON (MALFORMED_BODY)",
                        "content": {
                            "application/json": {
                                "schema": error_body_ref,
                                "example": error_body("MALFORMED_BODY", "There was an error parsing the body"),
                            }
                        },
                    },
                )
            if operation.get("security"):
                responses.setdefault(
                    "503",
                    {
                        "description": "Tokens cannot be checked right now (SERVICE_UNAVAILABLE); retry",
                        "content": {
                            "application/json": {
                                "schema": error_body_ref,
                                "example": error_body("SERVICE_UNAVAILABLE", "cannot check tokens right now; retry"),
                            }
                        },
                    },
                )
            if "requestBody" in operation or operation.get("parameters"):
                # Any input can be refused by validation or by a rule (INVALID_CHARACTER, ...).
                entry = responses.setdefault("422", {"description": "Invalid input"})
                content = entry.setdefault("content", {}).setdefault("application/json", {})
                content["schema"] = unprocessable
    app.openapi_schema = schema
    return schema


async def new_unit_of_work(request: Request) -> Any:
    """A route's unit of work (each service types it: ``Annotated[XUnitOfWork, Depends(...)]``)."""
    return request.app.state.runtime.uow_factory()
