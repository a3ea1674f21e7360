"""Composition root of the orchestrator: builds every collaborator, accepts fakes."""

from __future__ import annotations

from fastapi import FastAPI

from app.adapters import orm
from app.adapters.participants import Participants
from app.config import OrquestradorSettings
from app.entrypoints.api import router
from app.service_layer.handlers import HANDLERS
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_shared.auth import KeySource
from mercado_shared.bootstrap import build_runtime
from mercado_shared.logs import configure_logging
from mercado_shared.messaging.publisher import Publisher
from mercado_shared.web import create_service_app

SERVICE = "orquestrador"


def bootstrap(
    settings: OrquestradorSettings | None = None,
    publisher: Publisher | None = None,
    key_source: KeySource | None = None,
) -> FastAPI:
    settings = settings or OrquestradorSettings()
    configure_logging(SERVICE, settings.log_level)
    runtime = build_runtime(
        service=SERVICE,
        settings=settings,
        tables=orm.messaging,
        uow_class=OrquestradorUnitOfWork,
        handlers=HANDLERS,
        publisher=publisher,
        key_source=key_source,
    )
    participants = Participants(
        settings.cliente_service_url, settings.veiculo_service_url, settings.participant_timeout_seconds
    )
    runtime.on_shutdown.append(participants.close)
    app = create_service_app(
        runtime=runtime,
        title="Mercado Veículo — orquestrador",
        version=settings.version,
        description="The purchase saga: starts purchases, follows them, cancels them.",
        routers=[router],
    )
    app.state.participants = participants
    return app
