"""Composition root of veiculo-service: builds every collaborator, accepts fakes."""

from __future__ import annotations

from fastapi import FastAPI

from app.adapters import orm
from app.config import VeiculoSettings
from app.entrypoints.api import internal, staff_only, vehicles
from app.entrypoints.deps import VeiculoContext
from app.service_layer.handlers import build_handlers
from app.service_layer.unit_of_work import VeiculoUnitOfWork
from mercado_shared.audit import audit_router
from mercado_shared.auth import KeySource
from mercado_shared.bootstrap import build_runtime
from mercado_shared.clock import Clock, utcnow
from mercado_shared.logs import configure_logging
from mercado_shared.messaging.publisher import Publisher
from mercado_shared.service_app import create_service_app

SERVICE = "veiculo-service"


def bootstrap(
    settings: VeiculoSettings | None = None,
    *,
    publisher: Publisher | None = None,
    key_source: KeySource | None = None,
    clock: Clock = utcnow,
) -> FastAPI:
    settings = settings or VeiculoSettings()
    configure_logging(SERVICE, settings.log_level, settings.pubsub_project_id)
    orm.start_mappers()
    runtime = build_runtime(
        service=SERVICE,
        settings=settings,
        tables=orm.messaging,
        uow_class=VeiculoUnitOfWork,
        handlers=build_handlers(clock),
        publisher=publisher,
        key_source=key_source,
    )
    return create_service_app(
        runtime=runtime,
        title="Mercado Veículo — veiculo-service",
        version=settings.version,
        description="Vehicles for sale: registration, listings ordered by price, reservation and sale.",
        routers=[staff_only, vehicles, internal, audit_router("/audit-log/vehicles", orm.messaging.audit)],
        context=VeiculoContext(clock=clock),
    )
