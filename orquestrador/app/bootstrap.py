"""Composition root of the orchestrator: builds every collaborator, accepts fakes."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from app.adapters import orm
from app.adapters.archive_store import ArchiveStore
from app.adapters.metrics import PURCHASE_CENSUS
from app.adapters.participants import Participants
from app.adapters.saga_watch import SagaWatcher
from app.config import OrquestradorSettings
from app.domain.deadlines import DeadlinePolicy
from app.entrypoints.api import router
from app.entrypoints.console import ConsoleFiles
from app.entrypoints.deps import OrquestradorContext
from app.entrypoints.operations import router as operations_router
from app.service_layer.coordinator import Coordinator
from app.service_layer.handlers import build_handlers
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_shared import retention
from mercado_shared.audit import audit_router
from mercado_shared.auth import KeySource
from mercado_shared.bootstrap import build_runtime
from mercado_shared.clock import Clock, utcnow
from mercado_shared.logs import configure_logging
from mercado_shared.messaging.publisher import Publisher
from mercado_shared.periodic import Periodic
from mercado_shared.ratelimit import RateLimiter
from mercado_shared.server import SHUTDOWN
from mercado_shared.service_app import create_service_app

SERVICE = "orquestrador"


def bootstrap(
    settings: OrquestradorSettings | None = None,
    *,
    publisher: Publisher | None = None,
    key_source: KeySource | None = None,
    clock: Clock = utcnow,
) -> FastAPI:
    settings = settings or OrquestradorSettings()
    configure_logging(SERVICE, settings.log_level, settings.pubsub_project_id)
    coordinator = Coordinator(
        DeadlinePolicy(
            step_timeout=timedelta(seconds=settings.saga_step_timeout_seconds),
            max_step_timeout=timedelta(seconds=settings.saga_step_timeout_max_seconds),
            payment_grace=timedelta(seconds=settings.payment_deadline_grace_seconds),
        ),
        clock,
    )
    runtime = build_runtime(
        service=SERVICE,
        settings=settings,
        tables=orm.messaging,
        uow_class=OrquestradorUnitOfWork,
        handlers=build_handlers(coordinator),
        publisher=publisher,
        key_source=key_source,
        purges=[retention.RATE_LIMITS, retention.IDEMPOTENCY_KEYS],
    )
    participants = Participants(
        settings.cliente_service_url,
        settings.veiculo_service_url,
        settings.pagamento_service_url,
        settings.participant_timeout_seconds,
        runtime.id_tokens,
    )
    sweeper = Periodic(
        "deadline-sweep", settings.deadline_sweep_interval_seconds, lambda: coordinator.sweep(runtime.uow_factory)
    )
    runtime.on_startup.append(sweeper.start)
    runtime.on_shutdown.append(lambda deadline: sweeper.stop(deadline.remaining()))
    runtime.on_shutdown.append(lambda _: participants.close())

    def census() -> tuple[dict[str, int], int]:
        with runtime.uow_factory() as uow:
            return uow.sagas.census(coordinator.clock())

    runtime.on_startup.append(lambda: setattr(PURCHASE_CENSUS, "source", census))
    runtime.on_shutdown.append(lambda _: setattr(PURCHASE_CENSUS, "source", None))
    watcher = SagaWatcher(settings.database_url, settings.max_waits_per_caller)
    runtime.on_startup.append(watcher.start)
    runtime.on_shutdown.append(lambda deadline: watcher.stop(deadline.remaining()))
    SHUTDOWN.on_signal(watcher.release_waiters)  # at SIGTERM: long polls answer, the drain is quick
    app = create_service_app(
        runtime=runtime,
        title="Mercado Veículo — orquestrador",
        version=settings.version,
        description="The purchase saga: starts purchases, follows them, cancels them.",
        routers=[router, operations_router, audit_router("/audit-log/purchases", orm.messaging.audit)],
        context=OrquestradorContext(
            coordinator=coordinator,
            participants=participants,
            saga_watcher=watcher,
            purchase_limiter=RateLimiter(
                runtime.engine, settings.purchase_starts_per_window, settings.purchase_window_seconds
            ),
            max_active_purchases=settings.max_active_purchases,
            max_waiting_requests=settings.max_waiting_requests,
            archive=ArchiveStore(
                settings.purchase_archive_bucket, settings.pubsub_project_id, settings.storage_emulator_host
            ),
            archive_after=timedelta(days=settings.purchase_archive_after_days),
        ),
    )
    app.mount("/console", ConsoleFiles(), name="console")  # the staff console (docs/operations.md)
    return app
