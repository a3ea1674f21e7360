"""Each service's migrations build exactly the schema its models describe, and unwind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mercado_shared.devstack import SERVICES
from mercado_shared.testing.fixtures import migrate

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", [s.directory for s in SERVICES])
def test_migrations_match_the_models_and_downgrade_cleanly(service: str, new_database: Callable[[str], str]) -> None:
    url = new_database(service.replace("-", "_"))
    directory = ROOT / service
    for step in (("upgrade", "head"), ("check",), ("downgrade", "base"), ("upgrade", "head")):
        result = migrate(directory, url, *step)
        assert result.returncode == 0, f"alembic {' '.join(step)}: {result.stdout}{result.stderr}"
