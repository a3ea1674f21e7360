from pydantic import Field, SecretStr, model_validator

from mercado_shared.settings import Environment, ServiceSettings

LOCAL_WEBHOOK_SECRET = "local-psp-webhook-secret"  # noqa: S105 (the documented local default, refused in production)


class PagamentoSettings(ServiceSettings):
    port: int = 8082
    payment_code_ttl_seconds: int = Field(default=1800, ge=1, le=7 * 24 * 3600)
    psp_webhook_secret: SecretStr = SecretStr(LOCAL_WEBHOOK_SECRET)
    psp_webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3600)

    @model_validator(mode="after")
    def _production_needs_a_real_secret(self) -> "PagamentoSettings":
        if self.environment is Environment.PRODUCTION and (
            self.psp_webhook_secret.get_secret_value() == LOCAL_WEBHOOK_SECRET
            or len(self.psp_webhook_secret.get_secret_value()) < 32
        ):
            raise ValueError("set PSP_WEBHOOK_SECRET (32 characters or more) in production")
        return self
