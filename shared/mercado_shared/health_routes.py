"""The routes a service answers about itself: /livez, /readyz, /health and, where it serves
its internals, /metrics (what each one asks: mercado_shared.health)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict

from mercado_shared.health import HEALTH_CACHE_SECONDS, HEALTH_PATH, LIVENESS_PATH, OK, READINESS_PATH
from mercado_shared.runtime import Runtime


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


def health_router(runtime: Runtime[Any], version: str) -> APIRouter:
    """/livez, /readyz, /health, and /metrics where the service serves its internals."""
    router = APIRouter()

    @router.get(
        LIVENESS_PATH,
        tags=["operations"],
        summary="Liveness: 200 while the process answers (no I/O; Cloud Run's liveness probe)",
        response_model=Health,
    )
    async def livez() -> Health:
        return Health(status=OK, service=runtime.service, version=version, checks={})

    @router.get(
        READINESS_PATH,
        tags=["operations"],
        summary="Readiness: 200 when the database answers a ping within a second (Cloud Run's startup probe)",
        response_model=Health,
        responses={503: {"model": Health, "description": "the database does not answer"}},
    )
    async def readyz() -> JSONResponse:
        return _health_response(runtime, version, {"database": await runtime.database_probe.status()})

    @router.get(
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

        @router.get(
            "/metrics",
            tags=["operations"],
            summary="Prometheus metrics",
            response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {"example": "http_requests_total{...} 42.0"}}}},
        )
        def prometheus_metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def _health_response(runtime: Runtime[Any], version: str, checks: dict[str, str]) -> JSONResponse:
    ok = all(v == OK for v in checks.values())
    body = Health(status=OK if ok else "unavailable", service=runtime.service, version=version, checks=checks)
    return JSONResponse(status_code=200 if ok else 503, content=body.model_dump())
