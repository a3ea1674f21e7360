"""The FastAPI application every service is built on.

``create_service_app`` wires what all services share — the runtime's lifespan, the error
handlers, the middlewares, the health routes, the push entrypoint and the OpenAPI errors —
so a service's own code is its routers, its handlers and its context.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from mercado_shared.error_handlers import install_error_handlers
from mercado_shared.health_routes import health_router
from mercado_shared.messaging import dead_letters
from mercado_shared.messaging.push import push_router
from mercado_shared.middleware import BodySizeLimit, RequestMetrics
from mercado_shared.openapi import openapi_with_errors
from mercado_shared.runtime import Runtime
from mercado_shared.topology import load_topology

log = logging.getLogger(__name__)


def create_service_app(
    *,
    runtime: Runtime[Any],
    title: str,
    version: str,
    description: str,
    routers: Sequence[APIRouter],
    context: object = None,
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
    # The only two attributes of app.state, each read through a typed accessor
    # (mercado_shared.runtime: runtime_of, context_of).
    app.state.runtime = runtime
    app.state.context = context
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    install_error_handlers(app)
    app.openapi = lambda: openapi_with_errors(app)  # type: ignore[method-assign]

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

    app.include_router(health_router(runtime, version))
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
    tables = runtime.tables
    app.include_router(
        dead_letters.push_router(runtime.service, runtime.engine, tables.dead_letters, runtime.push_authenticator)
    )
    app.include_router(
        dead_letters.staff_router(runtime.service, runtime.engine, tables.dead_letters, tables.audit, runtime.bus)
    )
    for router in routers:
        app.include_router(router)
    return app
