"""Composition root of cliente-service: builds every collaborator, accepts fakes."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from app.adapters import orm
from app.adapters.keys import kek_from_settings, vault_for
from app.adapters.mail import MailSender, SmtpMailer
from app.adapters.operations import records_of
from app.adapters.passwords import Argon2PasswordHasher
from app.adapters.peers import Peers
from app.adapters.signin_limits import SignInLimits
from app.adapters.tokens import TokenIssuer, load_or_generate_key, load_public_keys
from app.config import ClienteSettings
from app.entrypoints.api import customers, identity, internal
from app.entrypoints.deps import ClienteContext
from app.service_layer import services
from app.service_layer.handlers import build_handlers
from app.service_layer.notices import build_notice_handlers
from app.service_layer.unit_of_work import ClienteUnitOfWork
from mercado_shared import retention
from mercado_shared.audit import audit_router
from mercado_shared.auth import KeySource, StaticKeySource
from mercado_shared.bootstrap import build_runtime
from mercado_shared.clock import Clock, utcnow
from mercado_shared.logs import configure_logging
from mercado_shared.messaging.publisher import Publisher
from mercado_shared.operations import transaction_router
from mercado_shared.periodic import Periodic
from mercado_shared.ratelimit import RateLimiter
from mercado_shared.service_app import create_service_app

SERVICE = "cliente-service"


def bootstrap(
    settings: ClienteSettings | None = None,
    *,
    publisher: Publisher | None = None,
    key_source: KeySource | None = None,
    clock: Clock = utcnow,
) -> FastAPI:
    """``key_source``: the keys tokens are checked with; by default this service's own
    (no HTTP round trip to its JWKS)."""
    settings = settings or ClienteSettings()
    configure_logging(SERVICE, settings.log_level, settings.pubsub_project_id)
    orm.start_mappers()
    issuer = TokenIssuer(
        load_or_generate_key(settings.jwt_private_key, settings.jwt_private_key_file),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
        retired=load_public_keys(settings.jwt_retired_public_keys),
    )
    runtime = build_runtime(
        service=SERVICE,
        settings=settings,
        tables=orm.messaging,
        uow_class=ClienteUnitOfWork,
        handlers={
            **build_handlers(),
            **build_notice_handlers(clock, timedelta(seconds=settings.payment_reminder_before_seconds)),
        },
        publisher=publisher,
        key_source=key_source or StaticKeySource(issuer.jwks()),
        purges=[retention.RATE_LIMITS, retention.PASSWORD_RESETS, retention.DEAD_MAIL],
    )
    vault = vault_for(runtime.engine, kek_from_settings(settings))
    orm.attach_vault(runtime.engine, vault)
    runtime.on_startup.append(vault.reload)  # a wrong key-encryption key stops startup, loudly
    hasher = Argon2PasswordHasher(settings.password_hashing_concurrency, settings.password_hashing_wait_seconds)
    if settings.has_startup_staff:
        runtime.on_startup.append(
            lambda: services.ensure_staff(runtime.uow_factory(), hasher, settings.staff_email, settings.staff_password)
        )
    peers = Peers(
        {
            "orquestrador": settings.orquestrador_service_url,
            "pagamento-service": settings.pagamento_service_url,
            "veiculo-service": settings.veiculo_service_url,
        },
        settings.orquestrador_timeout_seconds,
        runtime.id_tokens,
    )
    runtime.on_shutdown.append(lambda _: peers.close())
    mailer = SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        settings.mail_from,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout=settings.smtp_timeout_seconds,
    )
    mail = Periodic("mail-sender", 1.0, MailSender(runtime.engine, mailer, clock))
    runtime.on_startup.append(mail.start)
    runtime.on_shutdown.append(lambda deadline: mail.stop(deadline.remaining()))
    limits = SignInLimits(
        attempts=RateLimiter(runtime.engine, settings.login_attempts_per_address, 60),
        failures=RateLimiter(runtime.engine, settings.login_failures_per_window, settings.login_window_seconds),
        spraying=RateLimiter(
            runtime.engine, settings.login_failures_per_address, settings.login_failures_per_address_window_seconds
        ),
        registrations=RateLimiter(runtime.engine, settings.registrations_per_address, 60),
        resets=RateLimiter(runtime.engine, settings.password_resets_per_account, 3600),
        conflicts=RateLimiter(
            runtime.engine, settings.registration_conflicts_per_address, settings.registration_conflicts_window_seconds
        ),
    )
    return create_service_app(
        runtime=runtime,
        title="Mercado Veículo — cliente-service",
        version=settings.version,
        description="Customers, their balance and credit line, and identity (login, JWT, JWKS).",
        routers=[
            identity,
            customers,
            internal,
            audit_router("/audit-log/customers", orm.messaging.audit),
            transaction_router(orm.messaging, records_of),
        ],
        context=ClienteContext(
            hasher=hasher,
            issuer=issuer,
            vault=vault,
            signin_limits=limits,
            reset_policy=services.ResetPolicy(
                timedelta(seconds=settings.password_reset_ttl_seconds), settings.password_reset_url
            ),
            peers=peers,
            forwarded_for_hops=settings.forwarded_for_hops,
            clock=clock,
        ),
    )
