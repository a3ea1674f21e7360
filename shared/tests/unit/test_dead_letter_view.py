"""What staff see of a dead letter: the envelope decoded, personal data masked wherever it
sits, and bytes that are no envelope described rather than shown."""

from __future__ import annotations

import json

from mercado_shared.messaging.dead_letters import MASK, decoded


def test_personal_data_is_masked_at_any_depth_and_the_rest_is_shown() -> None:
    envelope = {
        "type": "events.identity.changed",
        "correlation_id": "tx-1",
        "payload": {
            "customer_id": "c-1",
            "email": "maria@example.com",
            "contact": {"phone": "+55 11 91234-5678", "name": "Maria"},
            "history": [{"document": "52998224725", "amount": "10.00"}],
            "address": None,
        },
    }
    shown = decoded(json.dumps(envelope).encode())
    payload = shown["payload"]
    assert payload["customer_id"] == "c-1" and shown["correlation_id"] == "tx-1"
    assert payload["email"] == payload["contact"]["phone"] == payload["contact"]["name"] == MASK
    assert payload["history"] == [{"document": MASK, "amount": "10.00"}]
    assert payload["address"] is None  # nothing there to mask
    assert "maria" not in json.dumps(shown).lower()


def test_bytes_that_are_not_an_envelope_are_described_not_shown() -> None:
    assert decoded(b"\x00\xff secret") == {"undecodable": True, "bytes": 9}
    assert decoded(b'["a list"]') == {"undecodable": True, "bytes": 10}
