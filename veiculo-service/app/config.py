from pydantic import Field, model_validator

from mercado_shared.settings import Environment, ServiceSettings

# The headers a photo upload's PUT carries, signed with its URL: the uploads bucket's CORS
# lets the frontend's origins send them (terraform/storage.tf; tests/static holds the two).
UPLOAD_HEADERS = ("Content-Type", "x-goog-content-length-range")


class VeiculoSettings(ServiceSettings):
    port: int = 8081
    # Photos (app.adapters.photo_store): staff upload to the private uploads bucket; the
    # renditions are served from the public photos bucket, at PHOTOS_PUBLIC_URL (by default
    # the bucket's own https://storage.googleapis.com/<bucket>, or a CDN in front of it).
    photos_upload_bucket: str = "mercado-veiculo-uploads"
    photos_bucket: str = "mercado-veiculo-photos"
    photos_public_url: str | None = None
    storage_emulator_host: str | None = Field(None, description="a Cloud Storage emulator (local only)")
    # The emulator as a browser reaches it, when not at STORAGE_EMULATOR_HOST (docker compose:
    # the services say storage:4443, the developer's browser localhost:4443).
    storage_emulator_browser_url: str | None = None
    photo_sweep_interval_seconds: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _production_stores_photos_on_google(self) -> "VeiculoSettings":
        if self.environment is Environment.PRODUCTION:
            if self.storage_emulator_host or self.storage_emulator_browser_url:
                raise ValueError("STORAGE_EMULATOR_HOST must not be set in production")
            if self.photos_public_url and not self.photos_public_url.startswith("https://"):
                raise ValueError("PHOTOS_PUBLIC_URL must be https in production")
        return self
