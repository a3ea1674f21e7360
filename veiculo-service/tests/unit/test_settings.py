"""Production keeps photos on Google, served over https."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.config import VeiculoSettings
from mercado_devtools.testing.helpers import PRODUCTION_SETTINGS

PRODUCTION: dict[str, Any] = {
    **PRODUCTION_SETTINGS,
    "environment": "production",
    "database_url": "postgresql+psycopg2://veiculo@/veiculo",
}


@pytest.fixture(autouse=True)
def no_emulators(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings read the environment: the session's emulators must not decide here."""
    for name in ("PUBSUB_EMULATOR_HOST", "STORAGE_EMULATOR_HOST", "STORAGE_EMULATOR_BROWSER_URL"):
        monkeypatch.delenv(name, raising=False)


def test_production_takes_googles_storage_and_an_https_photo_url() -> None:
    assert VeiculoSettings(**PRODUCTION, photos_public_url="https://fotos.shop.example").photos_bucket


@pytest.mark.parametrize(
    "setting",
    [
        {"storage_emulator_host": "http://127.0.0.1:4443"},
        {"storage_emulator_browser_url": "http://localhost:4443"},
        {"photos_public_url": "http://fotos.shop.example"},
    ],
)
def test_production_refuses_an_emulator_or_photos_over_http(setting: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        VeiculoSettings(**PRODUCTION, **setting)
