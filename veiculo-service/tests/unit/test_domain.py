from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.domain.identifiers import (
    InvalidIdentifier,
    normalize_chassis,
    normalize_plate,
    normalize_renavam,
    plate_key,
    renavam_check_digit,
)
from app.domain.model import ReservationStatus, Vehicle, VehicleUnavailable


@pytest.mark.parametrize("given, plate", [("abc-1234", "ABC1234"), ("ABC1D23", "ABC1D23"), (" abc1d23 ", "ABC1D23")])
def test_plates_are_normalised(given: str, plate: str) -> None:
    assert normalize_plate(given) == plate


@pytest.mark.parametrize("given", ["AB1234", "ABCD123", "ABC12D3", "1BC1234", "ABC-12345"])
def test_malformed_plates_are_refused(given: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_plate(given)


def test_the_old_and_mercosul_forms_of_a_plate_share_one_key() -> None:
    assert plate_key("ABC1234") == plate_key("ABC1C34") == "ABC1C34"
    assert plate_key("ABC1234") != plate_key("ABC1D34")


def test_chassis_numbers_have_17_characters_without_i_o_q() -> None:
    assert normalize_chassis("9bwzzz377vt004251") == "9BWZZZ377VT004251"
    for bad in ("9BWZZZ377VT00425", "9BWZZZ377VT0042I1", "9BWZZZ377VTO04251", "9BWZZZ377VT00Q251"):
        with pytest.raises(InvalidIdentifier):
            normalize_chassis(bad)


def test_renavam_check_digit_and_left_padding() -> None:
    valid = "0123456789" + str(renavam_check_digit("0123456789"))
    assert normalize_renavam(valid) == valid
    assert normalize_renavam(valid.lstrip("0")) == valid
    wrong = valid[:10] + str((int(valid[10]) + 1) % 10)
    with pytest.raises(InvalidIdentifier):
        normalize_renavam(wrong)


def vehicle() -> Vehicle:
    return Vehicle(
        "v1", "VW", "Gol", 2019, "Prata", Decimal("100.00"), "ABC1234", "ABC1C34", "9BWZZZ377VT004251", "01234567890"
    )


def test_one_reservation_at_a_time() -> None:
    v = vehicle()
    v.reserve("t1", "c1")
    with pytest.raises(VehicleUnavailable):
        v.reserve("t2", "c2")


def test_a_sale_needs_the_reservation_and_a_release_undoes_an_unfinished_sale() -> None:
    v = vehicle()
    r = v.reserve("t1", "c1")
    v.sell(r, Decimal("100.00"), datetime.now(UTC))
    assert (v.is_sold, v.is_reserved, v.buyer_id, r.status) == (True, False, "c1", ReservationStatus.SOLD)
    v.release(r)
    assert (v.is_sold, v.is_reserved, v.buyer_id, r.status) == (False, False, None, ReservationStatus.RELEASED)
    with pytest.raises(VehicleUnavailable):
        v.sell(r, Decimal("100.00"), datetime.now(UTC))
