from __future__ import annotations

from pydantic import Field, model_validator

from mercado_shared.settings import Environment, ServiceSettings

LOCAL_STAFF_PASSWORD = "staff-local-password"  # noqa: S105 (the documented local default, refused in production)


class ClienteSettings(ServiceSettings):
    port: int = 8080
    staff_email: str = "staff@mercadoveiculo.local"
    staff_password: str = Field(default=LOCAL_STAFF_PASSWORD, min_length=8)
    jwt_private_key: str | None = None
    jwt_private_key_file: str | None = None
    # Rotation: the public keys of signing keys just retired, still published in the JWKS so
    # that tokens they signed stay valid until they expire (PEM, several concatenated).
    jwt_retired_public_keys: str | None = None
    access_token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    login_failures_per_window: int = Field(default=5, ge=1)
    login_window_seconds: float = Field(default=60, gt=0)

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> ClienteSettings:
        if self.environment is Environment.PRODUCTION:
            if self.staff_password == LOCAL_STAFF_PASSWORD:
                raise ValueError("set STAFF_PASSWORD in production")
            if not (self.jwt_private_key or self.jwt_private_key_file):
                raise ValueError("set JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE in production")
        return self
