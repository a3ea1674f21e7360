from pydantic import Field

from mercado_shared.settings import ServiceSettings


class PagamentoSettings(ServiceSettings):
    port: int = 8082
    payment_code_ttl_seconds: int = Field(default=1800, ge=1, le=7 * 24 * 3600)
