from pydantic import Field, SecretStr, model_validator

from mercado_shared.settings import Environment, ServiceSettings

LOCAL_WEBHOOK_SECRET = "local-psp-webhook-secret"  # noqa: S105 (the documented local default, refused in production)
LOCAL_PIX_SECRET = "local-pix-secret"  # noqa: S105 (mercado_devtools.pix_provider's, refused in production)
LOCAL_PIX_WEBHOOK_SECRET = "local-pix-webhook-secret"  # noqa: S105 (refused in production)


class PagamentoSettings(ServiceSettings):
    port: int = 8082
    payment_code_ttl_seconds: int = Field(default=1800, ge=1, le=7 * 24 * 3600)
    psp_webhook_secret: SecretStr = SecretStr(LOCAL_WEBHOOK_SECRET)
    psp_webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    # The provider's API Pix (app.adapters.pix_api): Efí Bank in production
    # (https://pix.api.efipay.com.br, with the certificate it issues), the local provider
    # of `make run` and the tests otherwise.
    pix_api_url: str = "http://127.0.0.1:8090"
    pix_client_id: str = "local"
    pix_client_secret: SecretStr = SecretStr(LOCAL_PIX_SECRET)
    pix_certificate: SecretStr | None = Field(None, description="PEM: the client certificate and its key (mTLS)")
    # What the provider's notifications carry in their URL's hmac parameter (the URL
    # registered at Efí: .../webhooks/pix?hmac=<this>&ignorar=).
    pix_webhook_secret: SecretStr = SecretStr(LOCAL_PIX_WEBHOOK_SECRET)
    pix_key: str = Field(default="pix@mercadoveiculo.com.br", min_length=1, max_length=77)  # the shop's chave
    # Who the buyer's bank app says it pays (BR Code fields 59 and 60: app.domain.pix
    # checks them at start-up).
    pix_merchant_name: str = Field(default="Mercado Veiculo", min_length=1, max_length=25)
    pix_merchant_city: str = Field(default="Sao Paulo", min_length=1, max_length=15)

    @model_validator(mode="after")
    def _production_needs_a_real_secret(self) -> "PagamentoSettings":
        if self.environment is Environment.PRODUCTION and (
            self.psp_webhook_secret.get_secret_value() == LOCAL_WEBHOOK_SECRET
            or len(self.psp_webhook_secret.get_secret_value()) < 32
        ):
            raise ValueError("set PSP_WEBHOOK_SECRET (32 characters or more) in production")
        if self.environment is Environment.PRODUCTION and (
            not self.pix_api_url.startswith("https://")
            or self.pix_client_secret.get_secret_value() == LOCAL_PIX_SECRET
            or len(self.pix_webhook_secret.get_secret_value()) < 32
        ):
            raise ValueError("production pays through the provider's API Pix: PIX_API_URL (https), its secrets")
        return self
