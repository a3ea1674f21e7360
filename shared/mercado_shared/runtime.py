"""What a running service owns and must release, and how a request reaches it.

A route or a shared dependency asks for the runtime with ``runtime_of(request)`` and for
the service's own collaborators (its context, built by its bootstrap) with a dependency
from ``context_of(TheContext)``: both typed, so mypy checks the wiring that untyped
``app.state`` attributes would hide.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from fastapi import Request
from prometheus_client import start_http_server

from mercado_shared import tracing
from mercado_shared.db import wait_for_database
from mercado_shared.health import DatabaseProbe
from mercado_shared.periodic import Periodic
from mercado_shared.server import SHUTDOWN, Deadline

if TYPE_CHECKING:  # the runtime holds them; they reach it through runtime_of
    from sqlalchemy.engine import Engine

    from mercado_shared.auth import TokenVerifier
    from mercado_shared.messaging.bus import MessageBus
    from mercado_shared.messaging.outbox import OutboxRelay
    from mercado_shared.messaging.publisher import Publisher
    from mercado_shared.messaging.schema import MessagingTables
    from mercado_shared.platform_auth import CallerAuthenticator, IdTokens
    from mercado_shared.retention import RetentionSweep
    from mercado_shared.sessions import Revocations
    from mercado_shared.settings import ServiceSettings

C = TypeVar("C")
U = TypeVar("U")  # the service's unit of work


@dataclass
class Runtime(Generic[U]):
    """What a running service owns and must release: database, broker, relay."""

    service: str
    engine: Engine
    tables: MessagingTables  # the messaging tables every service's database holds
    publisher: Publisher
    relay: OutboxRelay
    bus: MessageBus[Any]
    uow_factory: Callable[[], U]
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


def app_runtime(app: Any) -> Runtime[Any]:
    """The runtime of a service's application (``create_service_app`` attached it)."""
    return cast("Runtime[Any]", app.state.runtime)


def app_context(app: Any, kind: type[C]) -> C:
    """The service's own context, as ``kind``: a wrong kind fails here, not in a route."""
    found = app.state.context
    assert isinstance(found, kind), f"the application's context is a {type(found).__name__}, not a {kind.__name__}"
    return found


def runtime_of(request: Request) -> Runtime[Any]:
    return app_runtime(request.app)


def context_of(kind: type[C]) -> Callable[[Request], Awaitable[C]]:
    """A dependency giving the service's own context (``create_service_app(context=…)``),
    as ``kind``: ``ContextDep = Annotated[XContext, Depends(context_of(XContext))]``."""

    async def context(request: Request) -> C:  # async: no thread-pool hop on every request
        return app_context(request.app, kind)

    return context


async def new_unit_of_work(request: Request) -> Any:
    """A route's unit of work (each service types it: ``Annotated[XUnitOfWork, Depends(...)]``);
    async, as it does no I/O: no thread-pool hop on every request."""
    return runtime_of(request).uow_factory()


if TYPE_CHECKING:  # what the modules below the runtime take it for, checked by mypy
    from mercado_shared.audit import AuditSource
    from mercado_shared.auth import SessionChecks
    from mercado_shared.platform_auth import InternalCallers

    def _conforms(runtime: Runtime[Any]) -> tuple[SessionChecks, InternalCallers, AuditSource]:
        return runtime, runtime, runtime
