"""Settings fail closed: on Cloud Run a service is in production, whatever is missing."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mercado_devtools.testing.helpers import PRODUCTION_SETTINGS
from mercado_shared.settings import Environment, ServiceSettings


def test_without_environment_a_service_on_cloud_run_is_in_production_and_refuses_local_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)
    assert ServiceSettings(database_url="postgresql://x").environment is Environment.LOCAL  # not on Cloud Run
    monkeypatch.setenv("K_SERVICE", "veiculo-service")
    with pytest.raises(ValidationError, match="in production"):
        ServiceSettings(database_url="postgresql://x")  # loopback trust, http JWKS: refused
    production = ServiceSettings.model_validate({"database_url": "postgresql://x", **PRODUCTION_SETTINGS})
    assert production.environment is Environment.PRODUCTION


def test_on_cloud_run_nothing_but_production_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("K_SERVICE", "veiculo-service")
    for environment in ("local", "test"):
        local = {"database_url": "postgresql://x", "environment": environment}
        with pytest.raises(ValidationError, match="only production runs there"):
            ServiceSettings.model_validate({**local, **PRODUCTION_SETTINGS})
