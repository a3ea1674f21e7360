from mercado_shared.settings import ServiceSettings


class OrquestradorSettings(ServiceSettings):
    port: int = 8083
    cliente_service_url: str = "http://127.0.0.1:8080"
    veiculo_service_url: str = "http://127.0.0.1:8081"
    participant_timeout_seconds: float = 5.0
