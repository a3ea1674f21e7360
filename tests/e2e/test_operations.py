"""Staff's timeline of a purchase on the whole system: one read assembles the saga's
inputs and commands with every participant's records and messages of it."""

from __future__ import annotations

from typing import Any

from mercado_devtools.testing.helpers import eventually
from tests.e2e.conftest import Api

PARTICIPANTS = ("cliente-service", "veiculo-service", "pagamento-service")


def test_one_read_shows_a_completed_purchase_in_every_service(api: Api) -> None:
    customer, me = api.new_customer(balance=60_000)
    vehicle = api.new_vehicle(45_900)
    tx = api.purchase(vehicle["id"], me)["transaction_id"]
    code = api.saga_reaches(tx, me, "AWAITING_PAYMENT")["payment_code"]
    assert api.pay(code, me).status_code == 201
    api.saga_reaches(tx, me, "COMPLETED")

    def read() -> dict[str, Any]:
        answer = api.client.get(api.url("orquestrador", f"/operations/purchases/{tx}"), headers=api.staff())
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        notices = found["participants"]["cliente-service"]["records"]["notices"]
        assert {n["kind"] for n in notices} == {"code_issued", "ended"}  # the receipt is decided after the end
        return found

    story = eventually(read)
    assert [s["state"] for s in story["steps"]] == ["done"] * len(story["steps"])
    sent = [c for e in story["timeline"] for c in e["commands"]]
    assert sent == [
        "commands.credit.reserve",
        "commands.vehicle.reserve",
        "commands.payment.generate_code",
        "commands.credit.capture",
        "commands.vehicle.mark_sold",
    ]

    records = {service: story["participants"][service]["records"] for service in PARTICIPANTS}
    [hold] = records["cliente-service"]["holds"]
    assert (hold["customer_id"], hold["status"]) == (customer["id"], "CAPTURED")
    [reservation] = records["veiculo-service"]["reservations"]
    assert (reservation["vehicle_id"], reservation["status"]) == (vehicle["id"], "SOLD")
    [sale] = records["veiculo-service"]["sales"]
    assert sale["id"] == vehicle["id"] and sale["sold_at"]
    [paid_code] = records["pagamento-service"]["codes"]
    [payment] = records["pagamento-service"]["payments"]
    assert (paid_code["code"], paid_code["status"], payment["status"]) == (code, "PAID", "COMPLETED")

    # Each command the orchestrator sent was handled by its participant, and each reply came back.
    handled = {m["type"] for s in PARTICIPANTS for m in story["messages"][s]["inbox"]}
    assert {c for c in sent} <= handled
    published = story["messages"]["orquestrador"]["outbox"]
    assert {m["topic"] for m in published} >= set(sent) and all(m["published_at"] for m in published)
    replies = {m["topic"] for s in PARTICIPANTS for m in story["messages"][s]["outbox"]}
    assert {m["type"] for m in story["messages"]["orquestrador"]["inbox"]} <= replies
    everything = repr(story)
    assert not {customer[k] for k in ("name", "email", "phone", "document")} & set(
        everything.split("'")
    )  # ids, never personal data
