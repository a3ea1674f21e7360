"""The purchase invariants, checked across all four services' databases.

    python -m mercado_shared.invariants            # make check-invariants
    python -m mercado_shared.invariants --json

Reads each service's database read-only (CLIENTE_DATABASE_URL, VEICULO_DATABASE_URL,
PAGAMENTO_DATABASE_URL, ORQUESTRADOR_DATABASE_URL; by default the databases of `make run`)
and reports every violation of:

- a vehicle is sold at most once, and only to the buyer of a COMPLETED purchase, at its price;
  every COMPLETED purchase sold its vehicle; no reservation outlives its purchase;
- a buyer's balance is its opening balance less its held and captured cash, its used credit
  the sum of its held and captured credit; funds are captured exactly for COMPLETED
  purchases; no hold outlives its purchase; every COMPLETED purchase was paid its price;
  nothing is paid and kept for a purchase that did not complete, no code stays payable
  for one that ended;
- every purchase is terminal, or AWAITING_PAYMENT before its deadline;
- the listings' kept counts (veiculo's ``vehicle_listing_counts``) equal the vehicles.

A purchase still moving (between steps, compensating) is not a violation when
``settled=False``: operators can run the checker on a live system.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "EXPIRED"}
SERVICES = ("cliente", "veiculo", "pagamento", "orquestrador")


@dataclass(frozen=True)
class Violation:
    invariant: str
    subject: str
    detail: str


def _rows(url: str, query: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SET TRANSACTION READ ONLY"))
            return [dict(r._mapping) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def check(
    urls: Mapping[str, str],
    *,
    settled: bool = True,
    now: datetime | None = None,
    payment_grace: timedelta = timedelta(seconds=10),
) -> list[Violation]:
    now = now or datetime.now(UTC)
    sagas = {
        str(r["transaction_id"]): r
        for r in _rows(
            urls["orquestrador"],
            "SELECT transaction_id, customer_id, vehicle_id, amount, payment_type, status, payment_expires_at "
            "FROM saga_states",
        )
    }
    customers = _rows(urls["cliente"], "SELECT id, account_balance, used_credit, opening_balance FROM customers")
    holds = _rows(urls["cliente"], "SELECT transaction_id, customer_id, source, amount, status FROM holds")
    vehicles = _rows(urls["veiculo"], "SELECT id, reserved_by, sold_transaction_id, buyer_id, sold_price FROM vehicles")
    kept_counts = _rows(
        urls["veiculo"], "SELECT listing, sum(vehicles) AS vehicles FROM vehicle_listing_counts GROUP BY listing"
    )
    codes = _rows(urls["pagamento"], "SELECT transaction_id, status, expires_at FROM payment_codes")
    payments = _rows(urls["pagamento"], "SELECT transaction_id, status, amount FROM payments")

    found: list[Violation] = []

    def violation(invariant: str, subject: object, detail: str) -> None:
        found.append(Violation(invariant, str(subject), detail))

    def status_of(transaction_id: object) -> str | None:
        saga = sagas.get(str(transaction_id))
        return None if saga is None else str(saga["status"])

    def ended(transaction_id: object) -> bool:
        return status_of(transaction_id) in TERMINAL

    # ----------------------------------------------------------------- vehicles
    sold_by: dict[str, list[str]] = defaultdict(list)
    for v in vehicles:
        if v["sold_transaction_id"]:
            tx = str(v["sold_transaction_id"])
            sold_by[tx].append(str(v["id"]))
            status = status_of(tx)
            if status != "COMPLETED" and (settled or status in TERMINAL or status is None):
                violation("vehicle_sold_to_completed_purchase", v["id"], f"sold by {tx}, which is {status}")
            saga = sagas.get(tx)
            if saga and (str(saga["customer_id"]) != str(v["buyer_id"]) or saga["amount"] != v["sold_price"]):
                violation("vehicle_sold_to_its_buyer", v["id"], f"sold to {v['buyer_id']} for {v['sold_price']}")
        if v["reserved_by"] and ended(v["reserved_by"]):
            violation("no_reservation_outlives_its_purchase", v["id"], f"held by ended {v['reserved_by']}")
    for tx, saga in sagas.items():
        if saga["status"] == "COMPLETED" and sold_by.get(tx) != [str(saga["vehicle_id"])]:
            violation("completed_purchase_sold_its_vehicle", tx, f"vehicles sold by it: {sold_by.get(tx)}")
    actual_counts = {
        "all": len(vehicles),
        "available": sum(1 for v in vehicles if not v["reserved_by"] and not v["sold_transaction_id"]),
        "sold": sum(1 for v in vehicles if v["sold_transaction_id"]),
    }
    for row in kept_counts:
        if int(row["vehicles"]) != actual_counts.get(row["listing"]):
            violation(
                "listing_counts_match",
                row["listing"],
                f"kept {row['vehicles']}, actual {actual_counts.get(row['listing'])}",
            )

    # ----------------------------------------------------------------- money
    held: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    captured_for: dict[str, Decimal] = {}
    for h in holds:
        tx, status = str(h["transaction_id"]), h["status"]
        if status in ("HELD", "CAPTURED"):
            held[(str(h["customer_id"]), h["source"])] += h["amount"]
        if status == "HELD" and (ended(tx) or status_of(tx) is None):
            violation("no_hold_outlives_its_purchase", tx, f"held while the purchase is {status_of(tx)}")
        if status == "CAPTURED":
            captured_for[tx] = h["amount"]
            if status_of(tx) != "COMPLETED" and (settled or ended(tx)):
                violation("capture_only_for_completed", tx, f"captured while the purchase is {status_of(tx)}")
    for tx, saga in sagas.items():
        if saga["status"] == "COMPLETED" and captured_for.get(tx) != saga["amount"]:
            violation("completed_purchase_captured_its_price", tx, f"captured {captured_for.get(tx)}")
    for c in customers:
        cid = str(c["id"])
        expected_balance = c["opening_balance"] - held[(cid, "cash")]
        if c["account_balance"] != expected_balance:
            violation("balance_matches_holds", cid, f"balance {c['account_balance']}, expected {expected_balance}")
        if c["used_credit"] != held[(cid, "credit")]:
            violation("credit_matches_holds", cid, f"used {c['used_credit']}, holds {held[(cid, 'credit')]}")
        if c["account_balance"] < 0 or c["used_credit"] < 0:
            violation("never_negative", cid, "negative balance or credit")

    # ----------------------------------------------------------------- payments
    for p in payments:
        tx = str(p["transaction_id"])
        if p["status"] == "COMPLETED" and ended(tx) and status_of(tx) != "COMPLETED":
            violation("no_payment_kept_without_a_sale", tx, f"paid and kept while the purchase is {status_of(tx)}")
    paid_for = {str(p["transaction_id"]): p["amount"] for p in payments if p["status"] == "COMPLETED"}
    for tx, saga in sagas.items():
        if saga["status"] == "COMPLETED" and paid_for.get(tx) != saga["amount"]:
            violation("completed_purchase_paid_its_price", tx, f"paid {paid_for.get(tx)}")
    for code in codes:
        tx = str(code["transaction_id"])
        if code["status"] == "PENDING" and ended(tx) and code["expires_at"] > now:
            violation("no_payable_code_for_an_ended_purchase", tx, f"payable while {status_of(tx)}")

    # ----------------------------------------------------------------- liveness
    if settled:
        for tx, saga in sagas.items():
            status = saga["status"]
            if status == "AWAITING_PAYMENT":
                if saga["payment_expires_at"] + payment_grace < now:
                    violation("awaiting_payment_before_its_deadline", tx, f"deadline {saga['payment_expires_at']}")
            elif status not in TERMINAL:
                violation("every_purchase_settles", tx, f"still {status}")
    return found


def _local_urls() -> dict[str, str]:
    port = os.environ.get("PG_PORT", "54320")
    return {s: f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{s}" for s in SERVICES}


def urls_from_environment() -> dict[str, str]:
    local = _local_urls()
    return {s: os.environ.get(f"{s.upper()}_DATABASE_URL", local[s]) for s in SERVICES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--live", action="store_true", help="purchases may still be moving")
    parser.add_argument("--json", action="store_true", help="print the violations as JSON")
    args = parser.parse_args(argv)
    violations = check(urls_from_environment(), settled=not args.live)
    if args.json:
        print(json.dumps([asdict(v) for v in violations], indent=2))
    else:
        for v in violations:
            print(f"{v.invariant}: {v.subject}: {v.detail}")
        print(f"{len(violations)} violation(s)")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
