"""Staff accountability: every staff action on money, identity or a purchase is in its
service's audit log (who, what, on what, when, from where), nobody can change or remove an
entry, customers cannot read it, and each entry is also a log line for the locked bucket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
import sqlalchemy as sa

from mercado_devtools.testing.helpers import eventually
from tests.e2e.conftest import Api

LOGS = {
    "cliente-service": "/audit-log/customers",
    "veiculo-service": "/audit-log/vehicles",
    "pagamento-service": "/audit-log/payments",
    "orquestrador": "/audit-log/purchases",
}


def entries(api: Api, service: str, subject: str) -> list[dict[str, Any]]:
    page = api.client.get(api.url(service, LOGS[service]), params={"limit": 100}, headers=api.staff())
    assert page.status_code == 200, page.text
    return [e for e in page.json()["entries"] if e["subject"] == subject]


def test_what_staff_do_is_written_down_with_who_and_from_where(api: Api) -> None:
    staff = api.staff()
    staff_id = jwt.decode(staff["Authorization"].split()[1], options={"verify_signature": False})["sub"]
    customer, me = api.new_customer(balance=60_000)
    vehicle = api.new_vehicle(45_900)
    limit = api.client.patch(
        api.url("cliente-service", f"/customers/{customer['id']}"), json={"credit_limit": 5000}, headers=staff
    )
    assert limit.status_code == 200
    started = api.client.post(
        api.url("orquestrador", "/purchase"),
        json={"vehicle_id": vehicle["id"], "payment_type": "cash", "customer_id": customer["id"]},
        headers=staff,
    )
    assert started.status_code == 202, started.text
    tx = started.json()["transaction_id"]
    code = api.saga_reaches(tx, staff, "AWAITING_PAYMENT")["payment_code"]
    assert api.pay(code, staff).status_code == 201
    api.saga_reaches(tx, staff, "COMPLETED")
    picked = api.client.post(api.url("veiculo-service", f"/vehicles/{vehicle['id']}/pickup"), headers=staff)
    assert picked.status_code == 200
    own = api.client.patch(
        api.url("cliente-service", f"/customers/{customer['id']}"), json={"name": "Maria Q."}, headers=me
    )
    assert own.status_code == 200

    actions = {
        service: [(e["action"], e["actor"], e["address"]) for e in entries(api, service, subject)]
        for service, subject in (
            ("cliente-service", customer["id"]),
            ("veiculo-service", vehicle["id"]),
            ("orquestrador", tx),
            ("pagamento-service", tx),
        )
    }
    here = "127.0.0.1"
    assert actions == {  # newest first; the customer's own edit is not staff's and is not there
        "cliente-service": [
            ("customer.changed", staff_id, here),
            ("customer.registered", staff_id, here),
        ],
        "veiculo-service": [("vehicle.picked_up", staff_id, here), ("vehicle.registered", staff_id, here)],
        "orquestrador": [("purchase.started", staff_id, here)],
        "pagamento-service": [("payment.made", staff_id, here)],
    }
    [changed, registered] = entries(api, "cliente-service", customer["id"])
    assert changed["details"] == {"fields": ["credit_limit"], "credit_limit": {"from": "0.00", "to": "5000.00"}}
    assert registered["details"] == {"initial_balance": "60000.00", "credit_limit": "0.00"}
    [paid] = entries(api, "pagamento-service", tx)
    assert paid["details"]["amount"] == "45900.00"

    def logged() -> None:  # and as log lines, which the locked bucket keeps
        lines = (Path(api.stack.config.run_dir) / "services.log").read_text(errors="replace").splitlines()
        found = [json.loads(line)["audit"] for line in lines if '"audit"' in line and line.startswith("{")]
        assert {(a["action"], a["subject"]) for a in found} >= {("payment.made", tx), ("purchase.started", tx)}

    eventually(logged, timeout=10)


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"])
def test_nobody_changes_or_removes_an_entry(api: Api, statement: str) -> None:
    api.new_vehicle(10_000)  # at least one entry everywhere it matters
    for database in api.stack.databases().values():
        engine = sa.create_engine(database)
        try:
            with engine.connect() as connection, pytest.raises(sa.exc.DBAPIError, match="append-only"):
                connection.execute(sa.text(statement))
        finally:
            engine.dispose()


def test_customers_cannot_read_the_audit_log(api: Api) -> None:
    _, me = api.new_customer(balance=0)
    for service, path in LOGS.items():
        assert api.client.get(api.url(service, path), headers=me).status_code == 403, service
        assert api.client.get(api.url(service, path)).status_code == 401, service
        bad = api.client.get(api.url(service, path), params={"cursor": "MQ"}, headers=api.staff())
        assert bad.status_code == 422, service
