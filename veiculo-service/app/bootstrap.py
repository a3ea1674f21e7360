"""Composition root of veiculo-service: builds every collaborator, accepts fakes."""

from __future__ import annotations

from fastapi import FastAPI

from app.adapters import orm
from app.adapters.operations import records_of
from app.adapters.photo_store import PhotoStore
from app.config import VeiculoSettings
from app.entrypoints.api import internal, staff_only, vehicles
from app.entrypoints.deps import VeiculoContext
from app.service_layer.handlers import build_handlers
from app.service_layer.photos import sweep_abandoned
from app.service_layer.unit_of_work import VeiculoUnitOfWork
from mercado_shared.audit import audit_router
from mercado_shared.auth import KeySource
from mercado_shared.bootstrap import build_runtime
from mercado_shared.clock import Clock, utcnow
from mercado_shared.logs import configure_logging
from mercado_shared.messaging.publisher import Publisher
from mercado_shared.operations import transaction_router
from mercado_shared.periodic import Periodic
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
    photos = PhotoStore(
        project=settings.pubsub_project_id,
        uploads=settings.photos_upload_bucket,
        photos=settings.photos_bucket,
        public_url=settings.photos_public_url,
        emulator=settings.storage_emulator_host,
        emulator_for_browsers=settings.storage_emulator_browser_url,
    )
    runtime = build_runtime(
        service=SERVICE,
        settings=settings,
        tables=orm.messaging,
        uow_class=VeiculoUnitOfWork,
        handlers=build_handlers(clock),
        publisher=publisher,
        key_source=key_source,
    )
    sweeper = Periodic(
        "photo-sweep",
        settings.photo_sweep_interval_seconds,
        lambda: sweep_abandoned(runtime.uow_factory(), photos, clock()),
    )
    runtime.on_startup.append(sweeper.start)
    runtime.on_shutdown.append(lambda deadline: sweeper.stop(deadline.remaining()))
    return create_service_app(
        runtime=runtime,
        title="Mercado Veículo — veiculo-service",
        version=settings.version,
        description="Vehicles for sale: registration, search, photos, reservation and sale.",
        routers=[
            staff_only,
            vehicles,
            internal,
            audit_router("/audit-log/vehicles", orm.messaging.audit),
            transaction_router(orm.messaging, records_of),
        ],
        context=VeiculoContext(clock=clock, photos=photos),
    )
