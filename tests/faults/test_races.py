"""Many buyers, one vehicle; one buyer, more purchases than money."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from mercado_devtools.testing.helpers import eventually
from tests.e2e.conftest import Api


def test_fifty_buyers_racing_for_one_vehicle(api: Api) -> None:
    vehicle = api.new_vehicle(10000)
    buyers = [api.new_customer(balance=10000, credit=10000)[1] for _ in range(50)]
    with ThreadPoolExecutor(25) as pool:
        started = list(pool.map(lambda b: (api.start(vehicle["id"], b, payment_type="cash"), b), buyers))
    # The fault stack's payment codes live PAYMENT_TTL seconds: the winner pays as soon as
    # its saga awaits payment, not after the 49 others have ended.
    accepted = [(answer.json()["transaction_id"], buyer) for answer, buyer in started if answer.status_code == 202]

    def awaiting_payment() -> tuple[str, dict[str, str], str]:
        for transaction_id, buyer in accepted:
            saga = api.saga(transaction_id, buyer)
            if saga["status"] == "AWAITING_PAYMENT":
                return transaction_id, buyer, str(saga["payment_code"])
        raise AssertionError("no saga awaits payment yet")

    transaction_id, winner, code = eventually(awaiting_payment, timeout=60)
    assert api.pay(code, winner).status_code == 201
    api.saga_reaches(transaction_id, winner, "COMPLETED")
    ends = api.ends(started)
    assert ends.count("COMPLETED") == 1, ends
    assert set(ends) - {"COMPLETED"} <= {"VEHICLE_UNAVAILABLE", "FAILED:VEHICLE_UNAVAILABLE"}, ends
    balances = sorted(api.customer(b)["account_balance"] for b in buyers)
    assert balances == [0] + [10000] * 49  # every loser got its hold back


def test_one_buyer_with_funds_for_one_car_starting_two_purchases(api: Api) -> None:
    for payment_type in ("cash", "credit"):
        first, second = api.new_vehicle(30000), api.new_vehicle(30000)
        _, buyer = api.new_customer(balance=45000, credit=45000)
        with ThreadPoolExecutor(2) as pool:
            started = list(
                pool.map(lambda v, b=buyer, t=payment_type: (api.start(v["id"], b, payment_type=t), b), (first, second))
            )
        ends = sorted(api.ends(started))
        assert ends in (
            ["AWAITING_PAYMENT", "FAILED:INSUFFICIENT_FUNDS"],
            ["AWAITING_PAYMENT", "INSUFFICIENT_FUNDS"],
        ), ends
        me = api.customer(buyer)
        assert (me["account_balance"], me["available_credit"]) == (
            (15000, 45000) if payment_type == "cash" else (45000, 15000)
        )
