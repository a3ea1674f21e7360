"""The settings every service shares; each service subclasses it with its own fields."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    LOCAL = "local"
    TEST = "test"
    PRODUCTION = "production"


def on_cloud_run() -> bool:
    """Cloud Run sets K_SERVICE in every service's containers
    (https://cloud.google.com/run/docs/container-contract#env-vars)."""
    return bool(os.environ.get("K_SERVICE"))


def _default_environment() -> Environment:
    """Fail closed: on Cloud Run a service without ENVIRONMENT is in production, so a
    missing variable can never switch a refusal off."""
    return Environment.PRODUCTION if on_cloud_run() else Environment.LOCAL


LOCAL_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000", "http://localhost:5173", "http://127.0.0.1:5173")


class ServiceSettings(BaseSettings):
    """Read from the environment (names are the field names in upper case)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    environment: Environment = Field(default_factory=_default_environment)
    version: str = "0.1.0"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = "INFO"

    database_url: str = Field(min_length=1)
    db_pool_size: int = Field(default=10, ge=1, le=100)
    db_max_overflow: int = Field(default=5, ge=0, le=100)
    # How long start-up waits for the database before giving up: within the startup probe's
    # budget on Cloud Run (terraform/run.tf; a test holds the two together).
    startup_database_wait_seconds: float = Field(default=150, ge=0)

    pubsub_project_id: str = "mercado-veiculo-local"
    pubsub_emulator_host: str | None = None
    outbox_relay_interval_seconds: float = Field(default=1.0, gt=0)
    outbox_relay_grace_seconds: float = Field(default=2.0, ge=0)
    # How often an instance deletes rows whose use is over (mercado_shared.retention).
    retention_interval_seconds: float = Field(default=600, gt=0)

    # Who is the platform (mercado_shared.platform_auth): "secret" outside production
    # (PLATFORM_SECRET, random per run: make run and the tests make one; docker compose
    # asks each developer for one), or "oidc" (Google-signed ID tokens whose audience is
    # SERVICE_AUDIENCE, this service's URL: from PUSH_SERVICE_ACCOUNT on pushes, from
    # INTERNAL_CALLERS on /internal/… routes). The service identifies itself the same way
    # on its own calls. In secret mode the Host must be one of PLATFORM_HOSTS.
    platform_auth: Literal["secret", "oidc"] = "secret"
    platform_secret: SecretStr | None = Field(default=None, min_length=32)
    platform_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost", "::1"])
    service_audience: str | None = None
    push_service_account: str | None = None
    internal_callers: list[str] = Field(default_factory=list)

    # Where spans go (mercado_shared.tracing): none, console, otlp or gcp (Cloud Trace).
    trace_exporter: Literal["none", "console", "otlp", "gcp"] = "none"

    jwks_url: str = "http://127.0.0.1:8080/.well-known/jwks.json"
    jwt_issuer: str = "mercado-veiculo"
    jwt_audience: str = "mercado-veiculo-api"

    # Browser origins allowed to call the API (CORS), as a JSON list. Locally the usual
    # frontend dev servers; in production the frontend's https origins, never "*".
    allowed_origins: list[str] = Field(default_factory=lambda: list(LOCAL_ORIGINS))
    # Prometheus metrics on 127.0.0.1:METRICS_PORT, for the instance's own scraper (the
    # Managed Service for Prometheus sidecar on Cloud Run), instead of /metrics on the
    # public port. Required in production, where /metrics, /docs and /openapi.json are
    # not served at all.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # How many entries from the end of X-Forwarded-For the client's address is: 0 locally
    # (the socket's peer), 2 behind Google's load balancer (mercado_shared.client_address).
    forwarded_for_hops: int = Field(default=0, ge=0, le=10)

    @property
    def serves_internals(self) -> bool:
        """/docs, /openapi.json and /metrics on the public port: outside production only."""
        return self.environment is not Environment.PRODUCTION

    @model_validator(mode="after")
    def _secret_mode_has_a_secret(self) -> ServiceSettings:
        if self.platform_auth == "secret" and self.platform_secret is None:
            raise ValueError("PLATFORM_AUTH=secret needs PLATFORM_SECRET (32+ characters)")
        return self

    @model_validator(mode="after")
    def _production_on_cloud_run(self) -> ServiceSettings:
        if on_cloud_run() and self.environment is not Environment.PRODUCTION:
            raise ValueError(f"ENVIRONMENT={self.environment.value} on Cloud Run: only production runs there")
        return self

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> ServiceSettings:
        if self.environment is Environment.PRODUCTION:
            if self.pubsub_emulator_host:
                raise ValueError("PUBSUB_EMULATOR_HOST must not be set in production")
            if not self.jwks_url.startswith("https://"):
                raise ValueError("JWKS_URL must be https in production")
            if self.platform_auth != "oidc" or not (self.service_audience and self.push_service_account):
                raise ValueError("production needs PLATFORM_AUTH=oidc, SERVICE_AUDIENCE and PUSH_SERVICE_ACCOUNT")
            if not self.allowed_origins or any(not o.startswith("https://") for o in self.allowed_origins):
                raise ValueError("production needs ALLOWED_ORIGINS: the frontend's https:// origins, never *")
            if self.metrics_port is None:
                raise ValueError("production needs METRICS_PORT: its metrics are scraped on loopback")
        return self
