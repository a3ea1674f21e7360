from mercado_shared.settings import ServiceSettings


class VeiculoSettings(ServiceSettings):
    port: int = 8081
