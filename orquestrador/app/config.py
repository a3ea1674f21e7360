from pydantic import Field, model_validator

from mercado_shared.settings import Environment, ServiceSettings


class OrquestradorSettings(ServiceSettings):
    port: int = 8083
    cliente_service_url: str = "http://127.0.0.1:8080"
    veiculo_service_url: str = "http://127.0.0.1:8081"
    pagamento_service_url: str = "http://127.0.0.1:8082"  # staff's timeline reads the purchase's code and payment
    participant_timeout_seconds: float = 5.0
    saga_step_timeout_seconds: float = Field(default=30, gt=0)
    saga_step_timeout_max_seconds: float = Field(default=300, gt=0)
    payment_deadline_grace_seconds: float = Field(default=10, ge=0)
    deadline_sweep_interval_seconds: float = Field(default=1.0, gt=0)
    purchase_starts_per_window: int = Field(default=10, ge=1)
    purchase_window_seconds: float = Field(default=60, gt=0)
    max_active_purchases: int = Field(default=5, ge=1)
    # Long polls one instance holds at once; beyond, a wait answers at once with the state
    # as it is and Retry-After. Cloud Run's concurrency for the orchestrator is this plus
    # room for everything else (terraform/locals.tf; a test holds the two together).
    max_waiting_requests: int = Field(default=200, ge=0)
    # Of those, one caller (a customer, or staff) may hold at most this many: beyond, 429.
    max_waits_per_caller: int = Field(default=4, ge=1)
    # Retention (app.service_layer.archive): finished purchases older than this go to the
    # archive bucket and leave the database. At least 16 days: longer than any of their
    # messages can come back (mercado_shared.retention.inbox_kept; a test holds the two).
    purchase_archive_after_days: int = Field(default=365, ge=16)
    purchase_archive_bucket: str = "mercado-veiculo-purchase-archive"
    storage_emulator_host: str | None = Field(None, description="a Cloud Storage emulator (local only)")

    @model_validator(mode="after")
    def _production_archives_on_google(self) -> "OrquestradorSettings":
        if self.environment is Environment.PRODUCTION and self.storage_emulator_host:
            raise ValueError("STORAGE_EMULATOR_HOST must not be set in production")
        return self
