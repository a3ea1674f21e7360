"""The invariant checker sees what it is there to see."""

from __future__ import annotations

import sqlalchemy as sa

from mercado_devtools.stack import LocalStack
from mercado_shared.invariants import check
from tests.e2e.conftest import Api


def tampered(url: str, do: str, undo: str, stack: LocalStack, **ids: str) -> set[str]:
    """The invariants the checker reports while ``do`` has corrupted one database."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(do), ids)
        return {v.invariant for v in check(stack.databases())}
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(undo), ids)
        engine.dispose()


def test_each_kind_of_corruption_is_reported(api: Api, fault_stack: LocalStack) -> None:
    vehicle, spare = api.new_vehicle(900), api.new_vehicle(800)
    customer, me = api.new_customer(balance=1000)
    tx = api.purchase(vehicle["id"], me)["transaction_id"]
    api.pay(api.saga_reaches(tx, me, "AWAITING_PAYMENT")["payment_code"], me)
    api.saga_reaches(tx, me, "COMPLETED")
    assert check(fault_stack.databases()) == []
    db = fault_stack.databases()
    cid, sid = customer["id"], spare["id"]

    assert "balance_matches_holds" in tampered(
        db["cliente"],
        "UPDATE customers SET account_balance = account_balance + 1 WHERE id = :cid",
        "UPDATE customers SET account_balance = account_balance - 1 WHERE id = :cid",
        fault_stack,
        cid=cid,
    )
    assert "no_reservation_outlives_its_purchase" in tampered(
        db["veiculo"],
        "UPDATE vehicles SET reserved_by = :tx WHERE id = :sid",
        "UPDATE vehicles SET reserved_by = NULL WHERE id = :sid",
        fault_stack,
        tx=tx,
        sid=sid,
    )
    assert "listing_counts_match" in tampered(
        db["veiculo"],
        "UPDATE vehicle_listing_counts SET vehicles = vehicles + 1 WHERE listing = 'available' AND slot = 0",
        "UPDATE vehicle_listing_counts SET vehicles = vehicles - 1 WHERE listing = 'available' AND slot = 0",
        fault_stack,
    )
    found = tampered(
        db["orquestrador"],
        "UPDATE saga_states SET status = 'FAILED', failure_reason = 'X' WHERE transaction_id = :tx",
        "UPDATE saga_states SET status = 'COMPLETED', failure_reason = NULL WHERE transaction_id = :tx",
        fault_stack,
        tx=tx,
    )
    assert {
        "vehicle_sold_to_completed_purchase",
        "capture_only_for_completed",
        "no_payment_kept_without_a_sale",
    } <= found
    assert "completed_purchase_paid_its_price" in tampered(
        db["pagamento"],
        "UPDATE payments SET amount = amount - 1 WHERE transaction_id = :tx",
        "UPDATE payments SET amount = amount + 1 WHERE transaction_id = :tx",
        fault_stack,
        tx=tx,
    )
    assert "every_purchase_settles" in tampered(
        db["orquestrador"],
        "UPDATE saga_states SET status = 'IN_PROGRESS' WHERE transaction_id = :tx",
        "UPDATE saga_states SET status = 'COMPLETED' WHERE transaction_id = :tx",
        fault_stack,
        tx=tx,
    )
