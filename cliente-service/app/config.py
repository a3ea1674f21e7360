from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from mercado_shared.settings import Environment, ServiceSettings

LOCAL_STAFF_PASSWORD = "staff-local-password"  # noqa: S105 (the documented local default, refused in production)


class ClienteSettings(ServiceSettings):
    port: int = 8080
    # The shared staff account created at start-up, outside production only (the contract's
    # local staff); production has named staff, each with TOTP (python -m app.staff).
    staff_email: str = "staff@mercadoveiculo.local"
    staff_password: str = Field(default=LOCAL_STAFF_PASSWORD, min_length=8)

    @property
    def has_startup_staff(self) -> bool:
        return self.environment is not Environment.PRODUCTION

    jwt_private_key: str | None = None
    jwt_private_key_file: str | None = None
    # Rotation: the public keys of signing keys just retired, still published in the JWKS so
    # that tokens they signed stay valid until they expire (PEM, several concatenated).
    jwt_retired_public_keys: str | None = None
    access_token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    # Argon2id hashes one instance runs at once (19 MiB each); a request that cannot start
    # its hash within PASSWORD_HASHING_WAIT_SECONDS is answered 503 with Retry-After.
    password_hashing_concurrency: int = Field(default=4, ge=1, le=64)
    password_hashing_wait_seconds: float = Field(default=2.0, gt=0)
    # The orchestrator, asked before an erasure whether a purchase is in progress; it and the
    # other two services, asked for what they hold about a customer for its export.
    orquestrador_service_url: str = "http://127.0.0.1:8083"
    veiculo_service_url: str = "http://127.0.0.1:8081"
    pagamento_service_url: str = "http://127.0.0.1:8082"
    orquestrador_timeout_seconds: float = Field(default=5.0, gt=0)
    # Failed logins: per account from one address (a stranger elsewhere cannot lock the
    # owner out), and per address across accounts (one password tried on many), each
    # counted before the password is checked, so parallel guesses cannot all get through.
    login_failures_per_window: int = Field(default=5, ge=1)
    login_window_seconds: float = Field(default=60, gt=0)
    login_failures_per_address: int = Field(default=50, ge=1)
    login_failures_per_address_window_seconds: float = Field(default=3600, gt=0)
    # Anonymous routes that hash a password, per address per minute (Cloud Armor limits
    # the same at the edge; these hold for any caller the edge lets through).
    login_attempts_per_address: int = Field(default=30, ge=1)
    registrations_per_address: int = Field(default=10, ge=1)
    # Anonymous registrations answered 409 (the e-mail or CPF is a customer's) per address
    # per hour: the contract fixes those answers, so this is what bounds enumeration.
    registration_conflicts_per_address: int = Field(default=10, ge=1)
    registration_conflicts_window_seconds: float = Field(default=3600, gt=0)
    # The key-encryption key that wraps the data keys of personal data: Cloud KMS in
    # production (KMS_KEY_NAME, projects/…/cryptoKeys/…); locally 32 random bytes in
    # base64 (DATA_KEK, or a file holding them: DATA_KEK_FILE). `make run` generates one.
    kms_key_name: str | None = None
    data_kek: SecretStr | None = None
    data_kek_file: str | None = None
    # E-mail (password resets), through an SMTP relay: locally the mail catcher `make run`
    # starts; in production a provider's relay over TLS (docs/operations.md).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=10, gt=0)
    # How long before a payment code expires its buyer is reminded of it (by e-mail), if the
    # code lives at least twice as long: a reminder right after the code's own mail is noise.
    payment_reminder_before_seconds: float = Field(default=600, gt=0)
    mail_from: str = "Mercado Veículo <nao-responda@mercadoveiculo.local>"
    # The frontend's page that asks for the new password; {token} is replaced.
    password_reset_url: str = "http://localhost:5173/redefinir-senha?token={token}"  # noqa: S105 (a URL)
    password_reset_ttl_seconds: int = Field(default=1800, ge=60, le=86400)
    password_resets_per_account: int = Field(default=3, ge=1)  # reset mails per account per hour

    @model_validator(mode="after")
    def _one_key_encryption_key(self) -> ClienteSettings:
        sources = [s for s in (self.kms_key_name, self.data_kek, self.data_kek_file) if s]
        if len(sources) != 1:
            raise ValueError("set exactly one of KMS_KEY_NAME, DATA_KEK or DATA_KEK_FILE")
        if self.environment is Environment.PRODUCTION and not self.kms_key_name:
            raise ValueError("production keeps its key-encryption key in Cloud KMS: set KMS_KEY_NAME")
        return self

    @model_validator(mode="after")
    def _reset_links_and_mail(self) -> ClienteSettings:
        if "{token}" not in self.password_reset_url:
            raise ValueError("PASSWORD_RESET_URL must contain {token}")
        if self.environment is Environment.PRODUCTION:
            if not self.password_reset_url.startswith("https://"):
                raise ValueError("PASSWORD_RESET_URL must be https in production")
            if self.smtp_security == "none":
                raise ValueError("production sends mail over TLS: SMTP_SECURITY=starttls or tls")
        return self

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> ClienteSettings:
        if self.environment is Environment.PRODUCTION:
            if self.staff_password != LOCAL_STAFF_PASSWORD:
                raise ValueError(
                    "production has no shared staff account: unset STAFF_PASSWORD and create named staff "
                    "with python -m app.staff create (docs/operations.md)"
                )
            if not (self.jwt_private_key or self.jwt_private_key_file):
                raise ValueError("set JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE in production")
        return self
