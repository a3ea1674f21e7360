"""Composition helpers: build a service's runtime from its settings, accepting fakes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from mercado_shared import cloud_access, sessions, tracing
from mercado_shared.auth import JwksKeySource, KeySource, TokenVerifier
from mercado_shared.contracts import Message, SessionsRevoked
from mercado_shared.db import create_engine, session_factory
from mercado_shared.messaging.bus import Handler, MessageBus
from mercado_shared.messaging.outbox import OutboxRelay
from mercado_shared.messaging.publisher import Publisher, PubSubPublisher
from mercado_shared.messaging.schema import MessagingTables
from mercado_shared.messaging.unit_of_work import SqlUnitOfWork
from mercado_shared.platform_auth import (
    CallerAuthenticator,
    GoogleOidc,
    IdTokens,
    SharedSecret,
    google_id_token,
)
from mercado_shared.retention import Purge, RetentionSweep, messaging_purges
from mercado_shared.runtime import Runtime
from mercado_shared.sessions import Revocations
from mercado_shared.settings import ServiceSettings
from mercado_shared.topology import load_topology

U = TypeVar("U", bound=SqlUnitOfWork)
UowClass = Callable[[sessionmaker[Session], MessagingTables, OutboxRelay | None], U]


def build_runtime(
    *,
    service: str,
    settings: ServiceSettings,
    tables: MessagingTables,
    uow_class: UowClass[U],
    handlers: Mapping[type[Message], Handler[U]],
    publisher: Publisher | None = None,
    key_source: KeySource | None = None,
    purges: Sequence[Purge] = (),
) -> Runtime[U]:
    """``purges``: what this service deletes once its use is over, beside its inbox and
    outbox (mercado_shared.retention)."""
    cloud_access.identify(service)
    tracing.configure_tracing(service, settings.trace_exporter, settings.pubsub_project_id)
    engine = create_engine(settings, service)
    signer = SharedSecret(settings.platform_secret.get_secret_value()).sign if settings.platform_secret else None
    publisher = publisher or PubSubPublisher(settings.pubsub_project_id, signer=signer)
    relay = OutboxRelay(
        engine,
        tables.outbox,
        publisher,
        service=service,
        interval=settings.outbox_relay_interval_seconds,
        grace=settings.outbox_relay_grace_seconds,
    )
    sessions = session_factory(engine)

    def uow_factory() -> U:
        return uow_class(sessions, tables, relay)

    verifier = TokenVerifier(
        key_source or JwksKeySource(settings.jwks_url),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    revocations = Revocations(engine, tables.revocations)
    if SessionsRevoked.TYPE in load_topology().topics_consumed_by(service):
        handlers = {**handlers, SessionsRevoked: _revocation_handler(revocations)}
    bus: MessageBus[Any] = MessageBus(service, uow_factory, handlers)
    push_authenticator: CallerAuthenticator
    internal_authenticator: CallerAuthenticator
    if settings.platform_auth == "secret":
        assert settings.platform_secret is not None, "checked by the settings"
        secret = settings.platform_secret.get_secret_value()
        push_authenticator = internal_authenticator = SharedSecret(secret, settings.platform_hosts)
        id_tokens = IdTokens.shared_secret(secret)
    else:
        assert settings.service_audience and settings.push_service_account, "checked by the settings"
        push_authenticator = GoogleOidc(settings.service_audience, settings.push_service_account)
        internal_authenticator = GoogleOidc(settings.service_audience, settings.internal_callers)
        id_tokens = IdTokens(google_id_token)
    return Runtime(
        service=service,
        engine=engine,
        tables=tables,
        publisher=publisher,
        relay=relay,
        bus=bus,
        uow_factory=uow_factory,
        token_verifier=verifier,
        push_authenticator=push_authenticator,
        internal_authenticator=internal_authenticator,
        id_tokens=id_tokens,
        revocations=revocations,
        settings=settings,
        retention=RetentionSweep(engine, service, [*messaging_purges(), *purges]),
    )


def _revocation_handler(revocations: Revocations) -> Handler[Any]:
    """Every service but the one that revokes learns of a revocation from its event."""

    def end_sessions(event: SessionsRevoked, uow: SqlUnitOfWork) -> None:
        sessions.end_sessions_before(uow.session, revocations.table, event.subject, event.version)

    return end_sessions
