"""Composition root of pagamento-service: builds every collaborator, accepts fakes."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from app.adapters import orm
from app.adapters.operations import records_of
from app.adapters.pix_api import api_pix
from app.config import PagamentoSettings
from app.domain.pix import MERCHANT_CITY_MAX, MERCHANT_NAME_MAX, PixCharges, merchant_text
from app.entrypoints.api import router
from app.entrypoints.deps import PagamentoContext
from app.service_layer.handlers import build_handlers
from app.service_layer.unit_of_work import PagamentoUnitOfWork
from mercado_shared.audit import audit_router
from mercado_shared.auth import KeySource
from mercado_shared.bootstrap import build_runtime
from mercado_shared.clock import Clock, utcnow
from mercado_shared.logs import configure_logging
from mercado_shared.messaging.publisher import Publisher
from mercado_shared.operations import transaction_router
from mercado_shared.service_app import create_service_app

SERVICE = "pagamento-service"


def bootstrap(
    settings: PagamentoSettings | None = None,
    *,
    publisher: Publisher | None = None,
    key_source: KeySource | None = None,
    clock: Clock = utcnow,
    charges: PixCharges | None = None,
) -> FastAPI:
    settings = settings or PagamentoSettings()
    merchant_text(settings.pix_merchant_name, MERCHANT_NAME_MAX)  # what a BR Code can carry, or no start
    merchant_text(settings.pix_merchant_city, MERCHANT_CITY_MAX)
    charges = charges or api_pix(settings)
    configure_logging(SERVICE, settings.log_level, settings.pubsub_project_id)
    orm.start_mappers()
    runtime = build_runtime(
        service=SERVICE,
        settings=settings,
        tables=orm.messaging,
        uow_class=PagamentoUnitOfWork,
        handlers=build_handlers(
            timedelta(seconds=settings.payment_code_ttl_seconds),
            clock,
            charges,
            (settings.pix_merchant_name, settings.pix_merchant_city),
        ),
        publisher=publisher,
        key_source=key_source,
    )
    return create_service_app(
        runtime=runtime,
        title="Mercado Veículo — pagamento-service",
        version=settings.version,
        description="Payment codes with expiry, payments and refunds.",
        routers=[
            router,
            audit_router("/audit-log/payments", orm.messaging.audit),
            transaction_router(orm.messaging, records_of),
        ],
        context=PagamentoContext(clock=clock, settings=settings),
    )
