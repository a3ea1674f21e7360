"""Each service calls on Google Cloud only what mercado_shared.cloud_access grants it: the
services recorded every distinct call they made during the whole session."""

from __future__ import annotations

import json

import pytest

from mercado_devtools.stack import LocalStack
from mercado_shared import cloud_access


@pytest.mark.after_everything
def test_every_google_call_a_service_made_is_in_its_table(stack: LocalStack) -> None:
    recorded = [
        json.loads(line) for line in (stack.config.run_dir / "cloud-calls.jsonl").read_text().splitlines() if line
    ]
    by_service = {(r["service"], cloud_access.Grant(r["permission"], r["resource"])) for r in recorded}
    assert {service for service, _ in by_service} == set(cloud_access.ACCESS)  # every service published
    undeclared = sorted((s, g) for s, g in by_service if g not in cloud_access.grants(s))
    assert undeclared == []
