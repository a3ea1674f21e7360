"""Engine and session factory for a service's own database."""

from __future__ import annotations

import logging
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from mercado_shared.settings import ServiceSettings


def create_engine(settings: ServiceSettings, application_name: str) -> Engine:
    """No pre-ping: it costs a round trip on every checkout (13% of the orchestrator's
    busy time under load). A connection the server dropped fails its first statement
    instead. SQLAlchemy then invalidates the whole pool, and the request answers 503 with
    Retry-After (a push is redelivered), so the next attempt gets fresh connections."""
    return sa.create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=1800,
        connect_args={"connect_timeout": 5, "application_name": application_name},
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


log = logging.getLogger(__name__)


def check_database(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


def _still_waiting(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "the database does not answer yet; waiting",
        extra={
            "attempt": state.attempt_number,
            "error": type(error).__name__,
            "waited_seconds": round(state.seconds_since_start or 0.0, 1),
        },
    )


def wait_for_database(engine: Engine, seconds: float) -> None:
    """Ping until the database answers, for at most ``seconds``, then give up (raise).

    On Cloud Run a new instance may wait a minute or more for its Direct VPC egress
    (https://cloud.google.com/run/docs/configuring/vpc-direct-vpc#limitations), and a
    database may be restarting; start-up waits within the startup probe's budget
    (terraform/run.tf) rather than crash-looping."""
    for attempt in Retrying(
        retry=retry_if_exception_type(DBAPIError),
        stop=stop_after_delay(seconds),
        wait=wait_exponential(multiplier=0.25, max=5),
        before_sleep=_still_waiting,
        reraise=True,
    ):
        with attempt:
            check_database(engine)


def str_enum(enum_cls: type[StrEnum], length: int = 20) -> sa.Enum:
    """A text column holding the enum's values, with a CHECK constraint listing them."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        validate_strings=True,
        values_callable=lambda e: [m.value for m in e],
        name=f"ck_{enum_cls.__name__.lower()}",
    )


def timestamp_columns() -> list[sa.Column[object]]:
    """created_at and updated_at, both set by the database."""
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
            onupdate=sa.func.now(),
        ),
    ]
